/* tool_spm_info.c: the gptc side of a check in tests/t_spm.sh, using only
 * include/gptc.h: prints "unk U bos B eos E pad P n N" for a .model file, the line
 * tests/spm/py_ref.py prints from python3-sentencepiece's unk_id() .. get_piece_size(),
 * then every piece as "id<TAB>type<TAB>score<TAB>piece" (score with 9 digits). */
#include "gptc.h"
#include <stdio.h>

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: tool_spm_info FILE.model\n");
        return 2;
    }
    gptc_ctx *ctx = gptc_ctx_new(NULL);
    gptc_spm *m;
    if (!ctx || gptc_spm_load(ctx, argv[1], &m)) {
        fprintf(stderr, "%s\n", ctx ? gptc_errmsg(ctx) : "out of memory");
        return 1;
    }
    gptc_spm_special s = gptc_spm_special_ids(m);
    printf("unk %d bos %d eos %d pad %d n %zu\n", s.unk, s.bos, s.eos, s.pad, gptc_spm_n_pieces(m));
    for (size_t i = 0; i < gptc_spm_n_pieces(m); i++) {
        size_t len;
        float score;
        gptc_spm_type t;
        const char *p = gptc_spm_piece(m, (int32_t)i, &len, &score, &t);
        printf("%zu\t%d\t%.9g\t%.*s\n", i, (int)t, score, (int)len, p);
    }
    gptc_spm_free(m);
    gptc_ctx_free(ctx);
    return 0;
}
