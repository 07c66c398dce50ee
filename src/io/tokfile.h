/* tokfile.h: reads whitespace-separated token ids from a text file ("-" = stdin),
 * checking each against the vocabulary; errors name the file, line and token. */
#ifndef GPTC_IO_TOKFILE_H
#define GPTC_IO_TOKFILE_H

#include "../core/core.h"

/* *ids is allocated with gptc_alloc (free with gptc_free). vocab_size <= 0: no range check. */
gptc_status gptc_tokens_read_text(gptc_ctx *ctx, const char *path, long vocab_size, int32_t **ids, size_t *n);

#endif
