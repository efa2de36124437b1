/* Compatibility path: functions written for Faasm's SDK include
 * "faasm/core.h"; with `-I sdk/c` this brings in faasm-rs's SDK. */
#include "../faasm.h"
