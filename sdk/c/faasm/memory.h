/* Compatibility path for Faasm's faasm/memory.h. Faasm needs a trick there
 * to keep its runtime from shrinking memory; faasm-rs does not, so this
 * only makes the include work. */
#ifndef FAASM_RS_MEMORY_H
#define FAASM_RS_MEMORY_H
#include "../faasm.h"
#endif
