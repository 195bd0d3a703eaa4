#include "core/error.h"
// Header-only today; the translation unit keeps a home for future out-of-line helpers.
