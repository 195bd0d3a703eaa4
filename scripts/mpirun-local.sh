#!/usr/bin/env bash
# Data-parallel training on this host: `scripts/mpirun-local.sh N hybrid train|sft|dpo ARGS...` runs N ranks with
# Open MPI over shared memory, with the settings a container needs:
#   - OMPI_ALLOW_RUN_AS_ROOT(_CONFIRM): mpirun refuses root otherwise (containers often run as root);
#   - pml ob1 + btl self,vader: shared memory between the ranks, without UCX's probing for RDMA devices;
#   - vader single-copy off: CMA needs ptrace rights between processes, which containers often deny;
#   - --bind-to none: each rank runs OpenMP threads (by default the host's cores divided among its ranks), which
#     Open MPI's default of binding each rank to one core would pile onto that core;
#   - --oversubscribe: allows more ranks than cores (tests; a rank per core is the fast layout).
# Every variable can be overridden from the environment (e.g. OMPI_MCA_btl=self,tcp OMPI_MCA_btl_tcp_if_include=lo
# to go through loopback TCP as a cluster would through its network).
set -euo pipefail
if [ $# -lt 2 ] || [[ ! $1 =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: $0 RANKS COMMAND [ARGS...]   e.g. $0 2 build/hybrid train -c configs/smoke.json -t 1" >&2
  exit 2
fi
N=$1; shift
command -v mpirun >/dev/null || { echo "$0: mpirun not found (scripts/setup.sh installs openmpi-bin)" >&2; exit 1; }
export OMPI_ALLOW_RUN_AS_ROOT=${OMPI_ALLOW_RUN_AS_ROOT:-1} OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=${OMPI_ALLOW_RUN_AS_ROOT_CONFIRM:-1}
export OMPI_MCA_pml=${OMPI_MCA_pml:-ob1} OMPI_MCA_btl=${OMPI_MCA_btl:-self,vader}
export OMPI_MCA_btl_vader_single_copy_mechanism=${OMPI_MCA_btl_vader_single_copy_mechanism:-none}
exec mpirun -np "$N" --bind-to none --oversubscribe "$@"
