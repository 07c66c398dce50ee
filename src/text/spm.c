/* spm.c: SentencePiece encoding and decoding as sentencepiece 0.1.97 computes them:
 * the unigram model's optimized Viterbi (unigram_model.cc EncodeOptimized, the default
 * encoder), BPE merges by score (bpe_model.cc), the assembly of pieces with runs of
 * unknown pieces joined and byte fallback (sentencepiece_processor.cc
 * PopulateSentencePieceText) and Decode. Loading is spm_load.c's, normalization
 * spm_norm.c's. */
#include "spm.h"
#include <stdlib.h>

/* Makes room for one more element in *v (n used of *cap, elem bytes each): 0, or -1
 * when out of memory (*v unchanged). */
static int grow(void *v, size_t n, size_t *cap, size_t elem, size_t first) {
    if (n < *cap) return 0;
    size_t c = *cap ? *cap * 2 : first;
    void *p = realloc(*(void **)v, c * elem);
    if (!p) return -1;
    *(void **)v = p;
    *cap = c;
    return 0;
}

/* One result piece of the model: normalized[start, start + len) with its id. */
typedef struct spm_seg { size_t start, len; int32_t id; } spm_seg;
typedef struct seg_vec { spm_seg *v; size_t n, cap; } seg_vec;

static int seg_push(seg_vec *s, size_t start, size_t len, int32_t id) {
    if (grow(&s->v, s->n, &s->cap, sizeof *s->v, 64)) return -1;
    s->v[s->n++] = (spm_seg){start, len, id};
    return 0;
}

static size_t char_len(const char *s, size_t left) {
    size_t n = spm_one_char_len((unsigned char)s[0]);
    return n < left ? n : left;
}

/* unigram: the best path ending at each byte position (EncodeOptimized). Scores are
 * float as there; a piece's candidate is computed in double (user-defined pieces get
 * length * max_score - 0.1, a double) and compared with the stored float, the unknown
 * candidate in float: the same arithmetic as the C++. */
static gptc_status encode_unigram(gptc_ctx *ctx, const gptc_spm *m, const char *s, size_t n, seg_vec *out) {
    typedef struct { float score; int32_t id; int64_t start; } best_t;
    best_t *best = malloc((n + 1) * sizeof *best);
    if (!best) return gptc_fail(ctx, GPTC_ENOMEM, "sentencepiece: out of memory (%zu bytes of text)", n);
    for (size_t i = 0; i <= n; i++) best[i] = (best_t){0, -1, -1};
    const float unk_score = m->min_score - 10.0f;
    const spm_trie *t = &m->trie;
    for (size_t at = 0; at < n;) {
        const float here = best[at].score;
        size_t mblen = char_len(s + at, n - at);
        int single = 0;
        int32_t node = 0;
        for (size_t k = at; k < n;) {
            node = spm_trie_next(t, node, (unsigned char)s[k++]);
            if (node < 0) break;
            int32_t id = t->normal[node];
            if (id < 0 || m->type[id] == GPTC_SPM_UNUSED) continue;
            size_t length = k - at;
            double score = m->type[id] == GPTC_SPM_USER_DEFINED ? (double)((float)length * m->max_score) - 0.1
                                                                 : (double)m->score[id];
            double cand = score + (double)here;
            best_t *b = &best[k];
            if (b->start == -1 || cand > (double)b->score) {
                b->score = (float)cand;
                b->start = (int64_t)at;
                b->id = id;
            }
            if (!single && length == mblen) single = 1;
        }
        if (!single) {
            best_t *b = &best[at + mblen];
            float cand = unk_score + here;
            if (b->start == -1 || cand > b->score) {
                b->score = cand;
                b->start = (int64_t)at;
                b->id = m->unk_id;
            }
        }
        at += mblen;
    }
    /* backtrack, then reverse */
    size_t first = out->n;
    for (size_t end = n; end > 0;) {
        const best_t *b = &best[end];
        if (seg_push(out, (size_t)b->start, end - (size_t)b->start, b->id)) {
            free(best);
            return gptc_fail(ctx, GPTC_ENOMEM, "sentencepiece: out of memory");
        }
        end = (size_t)b->start;
    }
    for (size_t i = first, j = out->n; i + 1 < j; i++, j--) {
        spm_seg x = out->v[i];
        out->v[i] = out->v[j - 1];
        out->v[j - 1] = x;
    }
    free(best);
    return GPTC_OK;
}

/* ---------------------------------------------------------------- BPE */

typedef struct { float score; int32_t left, right; size_t size; } bpe_pair;
typedef struct { size_t start, len; int32_t prev, next; int freeze; } bpe_sym;
typedef struct { size_t start, len, lstart, llen, rstart, rlen; } bpe_rev; /* rev_merge entry */

typedef struct bpe_state {
    const gptc_spm *m;
    const char *s;
    bpe_sym *sym;
    bpe_pair *heap;
    size_t n_heap, cap_heap;
    bpe_rev *rev;
    size_t n_rev, cap_rev;
    int oom;
} bpe_state;

/* priority_queue order: higher score first, then the smaller left index */
static int pair_before(const bpe_pair *a, const bpe_pair *b) {
    return a->score > b->score || (a->score == b->score && a->left < b->left);
}

static void heap_push(bpe_state *st, bpe_pair p) {
    if (grow(&st->heap, st->n_heap, &st->cap_heap, sizeof *st->heap, 256)) {
        st->oom = 1;
        return;
    }
    size_t i = st->n_heap++;
    while (i > 0) {
        size_t up = (i - 1) / 2;
        if (!pair_before(&p, &st->heap[up])) break;
        st->heap[i] = st->heap[up];
        i = up;
    }
    st->heap[i] = p;
}

static bpe_pair heap_pop(bpe_state *st) {
    bpe_pair top = st->heap[0], last = st->heap[--st->n_heap];
    size_t i = 0, n = st->n_heap;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && pair_before(&st->heap[c + 1], &st->heap[c])) c++;
        if (!pair_before(&st->heap[c], &last)) break;
        st->heap[i] = st->heap[c];
        i = c;
    }
    if (n) st->heap[i] = last;
    return top;
}

/* The normal-map id of s[start, start + len), or -1 (bpe's pieces_.find). */
static int32_t normal_id(const gptc_spm *m, const char *s, size_t len) {
    int32_t node = 0;
    for (size_t i = 0; i < len && node >= 0; i++) node = spm_trie_next(&m->trie, node, (unsigned char)s[i]);
    return node >= 0 ? m->trie.normal[node] : -1;
}

static bpe_rev *rev_find(bpe_state *st, const char *p, size_t len) {
    for (size_t i = 0; i < st->n_rev; i++)
        if (st->rev[i].len == len && !memcmp(st->s + st->rev[i].start, p, len)) return &st->rev[i];
    return NULL;
}

static void maybe_add_pair(bpe_state *st, int32_t l, int32_t r) {
    if (l < 0 || r < 0 || st->sym[l].freeze || st->sym[r].freeze) return;
    size_t size = st->sym[l].len + st->sym[r].len;
    int32_t id = normal_id(st->m, st->s + st->sym[l].start, size);
    if (id < 0) return;
    heap_push(st, (bpe_pair){st->m->score[id], l, r, size});
    if (st->m->type[id] == GPTC_SPM_UNUSED) {
        bpe_rev e = {st->sym[l].start, size, st->sym[l].start, st->sym[l].len, st->sym[r].start, st->sym[r].len};
        bpe_rev *x = rev_find(st, st->s + e.start, size);
        if (x) {
            *x = e;
        } else {
            if (grow(&st->rev, st->n_rev, &st->cap_rev, sizeof *st->rev, 16)) {
                st->oom = 1;
                return;
            }
            st->rev[st->n_rev++] = e;
        }
    }
}

/* resegment: an UNUSED piece is split back into the two symbols it was made of,
 * recursively (an explicit stack of spans). */
static int resegment(bpe_state *st, size_t start, size_t len, seg_vec *out) {
    size_t cap = 64, top = 0;
    size_t (*stk)[2] = malloc(cap * sizeof *stk);
    if (!stk) return -1;
    stk[top][0] = start;
    stk[top++][1] = len;
    while (top) {
        top--;
        size_t a = stk[top][0], n = stk[top][1];
        const char *w = st->s + a;
        int32_t id = spm_piece_id(st->m, w, n);
        bpe_rev *r = id >= 0 && st->m->type[id] == GPTC_SPM_UNUSED ? rev_find(st, w, n) : NULL;
        if (!r) {
            if (seg_push(out, a, n, id)) break;
            continue;
        }
        if (grow(&stk, top + 1, &cap, sizeof *stk, 64)) break;
        /* the right half below the left one: left comes out first */
        stk[top][0] = r->rstart;
        stk[top++][1] = r->rlen;
        stk[top][0] = r->lstart;
        stk[top++][1] = r->llen;
    }
    free(stk);
    return top ? -1 : 0;
}

static gptc_status encode_bpe(gptc_ctx *ctx, const gptc_spm *m, const char *s, size_t n, seg_vec *out) {
    bpe_state st = {m, s, NULL, NULL, 0, 0, NULL, 0, 0, 0};
    gptc_status rc = GPTC_OK;
    st.sym = malloc((n ? n : 1) * sizeof *st.sym);
    if (!st.sym) return gptc_fail(ctx, GPTC_ENOMEM, "sentencepiece: out of memory (%zu bytes of text)", n);
    size_t ns = 0;
    for (size_t at = 0; at < n;) {
        size_t u = spm_user_prefix(m, s + at, n - at);
        size_t len = u ? u : char_len(s + at, n - at);
        st.sym[ns] = (bpe_sym){at, len, ns ? (int32_t)ns - 1 : -1, -1, u > 0};
        at += len;
        st.sym[ns].next = at < n ? (int32_t)ns + 1 : -1;
        ns++;
    }
    for (size_t i = 1; i < ns; i++) maybe_add_pair(&st, (int32_t)i - 1, (int32_t)i);
    while (st.n_heap && !st.oom) {
        bpe_pair top = heap_pop(&st);
        bpe_sym *l = &st.sym[top.left], *r = &st.sym[top.right];
        if (!l->len || !r->len || l->len + r->len != top.size) continue; /* stale */
        l->len += r->len;
        l->next = r->next;
        if (r->next >= 0) st.sym[r->next].prev = top.left;
        r->len = 0;
        maybe_add_pair(&st, l->prev, top.left);
        maybe_add_pair(&st, top.left, l->next);
    }
    for (int32_t i = ns ? 0 : -1; i != -1 && !st.oom; i = st.sym[i].next)
        if (resegment(&st, st.sym[i].start, st.sym[i].len, out)) st.oom = 1;
    if (st.oom) rc = gptc_fail(ctx, GPTC_ENOMEM, "sentencepiece: out of memory");
    free(st.sym);
    free(st.heap);
    free(st.rev);
    return rc;
}

/* ---------------------------------------------------------------- encode */

/* Normalizes text, runs the model and assembles pieces (PopulateSentencePieceText):
 * a run of unknown pieces becomes one piece; with byte fallback an unknown piece
 * becomes its bytes' <0xNN> pieces. pieces (may be NULL) receives their text. */
static gptc_status encode(gptc_ctx *ctx, const gptc_spm *m, const char *text, size_t len, int32_t **ids_out,
                          size_t *n_out, spm_buf *pieces, size_t **offs_out) {
    spm_buf norm = {0};
    seg_vec seg = {0};
    int32_t *ids = NULL;
    size_t *offs = NULL, n = 0;
    gptc_status st = spm_normalize(ctx, m, &m->norm, 1, m->treat_ws_suffix, text, len, &norm);
    if (!st && norm.len)
        st = m->model_type == 2 ? encode_bpe(ctx, m, norm.p, norm.len, &seg) : encode_unigram(ctx, m, norm.p, norm.len, &seg);
    size_t cap = 0;
    for (size_t i = 0; i < seg.n; i++) cap += m->byte_fallback && seg.v[i].id == m->unk_id ? seg.v[i].len : 1;
    if (!st) {
        ids = malloc((cap ? cap : 1) * sizeof *ids);
        offs = pieces ? malloc((cap + 1) * sizeof *offs) : NULL;
        if (!ids || (pieces && !offs)) st = gptc_fail(ctx, GPTC_ENOMEM, "sentencepiece: out of memory");
    }
    int prev_unk = 0, oom = 0;
    for (size_t i = 0; !st && i < seg.n; i++) {
        const spm_seg *g = &seg.v[i];
        int unk = m->type[g->id] == GPTC_SPM_UNKNOWN;
        const char *w = norm.p + g->start;
        if (m->type[g->id] == GPTC_SPM_CONTROL) {
            /* sentencepiece emits it without consuming the text, then fails its check
             * that all normalized characters are consumed: so does this */
            st = gptc_fail(ctx, GPTC_EFORMAT, "sentencepiece: the piece \"%.*s\" is control piece %d: all normalized "
                           "characters are not consumed (sentencepiece fails too)", (int)g->len, w, (int)g->id);
        } else if (unk && m->byte_fallback) {
            for (size_t k = 0; k < g->len; k++) {
                unsigned char b = (unsigned char)w[k];
                if (pieces) {
                    char p[7];
                    snprintf(p, sizeof p, "<0x%02X>", b);
                    offs[n] = pieces->len;
                    oom |= spm_buf_put(pieces, p, 6);
                }
                ids[n++] = m->byte_id[b];
            }
        } else if (prev_unk && unk) {
            if (pieces) oom |= spm_buf_put(pieces, w, g->len); /* extends the last piece */
        } else {
            if (pieces) {
                offs[n] = pieces->len;
                oom |= spm_buf_put(pieces, w, g->len);
            }
            ids[n++] = g->id;
        }
        prev_unk = unk;
    }
    if (!st && oom) st = gptc_fail(ctx, GPTC_ENOMEM, "sentencepiece: out of memory");
    free(norm.p);
    free(seg.v);
    if (st) {
        free(ids);
        free(offs);
        return st;
    }
    if (pieces) offs[n] = pieces->len;
    *ids_out = ids;
    *n_out = n;
    if (offs_out) *offs_out = offs;
    return GPTC_OK;
}

gptc_status gptc_spm_encode(gptc_ctx *ctx, const gptc_spm *m, const char *text, size_t len, int32_t **ids,
                            size_t *n_ids) {
    return encode(ctx, m, text, len, ids, n_ids, NULL, NULL);
}

gptc_status gptc_spm_encode_pieces(gptc_ctx *ctx, const gptc_spm *m, const char *text, size_t len,
                                   gptc_spm_pieces *out) {
    memset(out, 0, sizeof *out);
    spm_buf pb = {0};
    gptc_status st = encode(ctx, m, text, len, &out->ids, &out->n, &pb, &out->offsets);
    if (!st && spm_buf_put(&pb, "", 1)) st = gptc_fail(ctx, GPTC_ENOMEM, "sentencepiece: out of memory");
    if (st) {
        free(pb.p);
        gptc_spm_pieces_free(out);
        return st;
    }
    out->text = pb.p;
    return GPTC_OK;
}

void gptc_spm_pieces_free(gptc_spm_pieces *p) {
    if (!p) return;
    free(p->ids);
    free(p->text);
    free(p->offsets);
    memset(p, 0, sizeof *p);
}

/* ---------------------------------------------------------------- decode */

/* Appends the surfaces of byte pieces ids[a, b): UTF-8 characters, an invalid byte as
 * U+FFFD (ProcessBytePieces). */
static int put_bytes(const gptc_spm *m, const int32_t *ids, size_t a, size_t b, spm_buf *out) {
    unsigned char tmp[256];
    int oom = 0;
    /* bytes of the run, a chunk at a time with up to 3 carried over */
    size_t have = 0;
    for (size_t i = a; i < b || have;) {
        while (i < b && have < sizeof tmp) {
            size_t len;
            const char *p = gptc_spm_piece(m, ids[i++], &len, NULL, NULL);
            tmp[have++] = (unsigned char)((p[3] >= 'A' ? p[3] - 'A' + 10 : p[3] - '0') * 16 +
                                          (p[4] >= 'A' ? p[4] - 'A' + 10 : p[4] - '0'));
        }
        size_t o = 0;
        while (o < have && (i == b || have - o >= 4)) {
            size_t mb;
            if (!spm_valid_utf8_prefix(tmp + o, have - o, &mb)) oom |= spm_buf_put(out, "\xEF\xBF\xBD", 3);
            else oom |= spm_buf_put(out, tmp + o, mb);
            o += mb;
        }
        memmove(tmp, tmp + o, have - o);
        have -= o;
    }
    return oom;
}

/* Decode of n pieces pt[i] (pl[i] bytes) whose ids are ids[i] (Decode(ids) passes
 * the ids' pieces, DecodePieces the pieces' PieceToId): an unknown piece that is not
 * the <unk> piece itself comes out as its text (sentencepiece_processor.cc). */
static gptc_status decode_core(gptc_ctx *ctx, const gptc_spm *m, const int32_t *ids, const char *const *pt,
                               const size_t *pl, size_t n_ids, char **text, size_t *len) {
    const char *unk_surface = m->unk_surface.present ? m->unk_surface.s : " \xE2\x81\x87 ";
    size_t unk_len = m->unk_surface.present ? m->unk_surface.len : 5;
    int strip_bos_ws = m->norm.add_dummy_prefix || m->norm.remove_extra_whitespaces;
    spm_buf out = {0};
    int oom = 0, is_bos_ws = 1, bos_ws_seen = 0;
    size_t byte_start = 0;
    for (size_t i = 0; i < n_ids; i++) {
        size_t plen = pl[i];
        const char *p = pt[i];
        int32_t id = spm_piece_id(m, p, plen); /* Decode(ids) goes through the pieces */
        int t = m->type[id];
        if (t == GPTC_SPM_BYTE) continue;
        oom |= put_bytes(m, ids, byte_start, i, &out);
        if (bos_ws_seen || out.len) is_bos_ws = 0;
        byte_start = i + 1;
        bos_ws_seen = 0;
        if (t == GPTC_SPM_CONTROL) continue;
        if (t == GPTC_SPM_UNKNOWN) {
            size_t ul;
            const char *u = gptc_spm_piece(m, id, &ul, NULL, NULL);
            if (ul == plen && !memcmp(u, p, plen)) oom |= spm_buf_put(&out, unk_surface, unk_len);
            else oom |= spm_buf_put(&out, p, plen);
            continue;
        }
        if (is_bos_ws && strip_bos_ws && plen >= 3 && !memcmp(p, SPM_WS_UTF8, 3)) {
            p += 3;
            plen -= 3;
            bos_ws_seen = !m->norm.remove_extra_whitespaces;
        }
        for (size_t k = 0; k < plen;) {
            if (plen - k >= 3 && !memcmp(p + k, SPM_WS_UTF8, 3)) {
                oom |= spm_buf_put(&out, " ", 1);
                k += 3;
            } else {
                oom |= spm_buf_put(&out, p + k, 1);
                k++;
            }
        }
    }
    oom |= put_bytes(m, ids, byte_start, n_ids, &out);
    gptc_status st = oom ? gptc_fail(ctx, GPTC_ENOMEM, "sentencepiece: out of memory") : GPTC_OK;
    if (!st && m->denorm.present && m->denorm.charsmap_len) {
        spm_buf d = {0};
        st = spm_normalize(ctx, m, &m->denorm, 0, 0, out.p ? out.p : "", out.len, &d);
        free(out.p);
        out = d;
    }
    if (!st && spm_buf_put(&out, "", 1)) st = gptc_fail(ctx, GPTC_ENOMEM, "sentencepiece: out of memory");
    if (st) {
        free(out.p);
        return st;
    }
    *text = out.p;
    *len = out.len - 1;
    return GPTC_OK;
}

/* The ids' pieces through decode_core. */
gptc_status gptc_spm_decode(gptc_ctx *ctx, const gptc_spm *m, const int32_t *ids, size_t n_ids, char **text,
                            size_t *len) {
    *text = NULL;
    *len = 0;
    for (size_t i = 0; i < n_ids; i++)
        if (ids[i] < 0 || (size_t)ids[i] >= m->n)
            return gptc_fail(ctx, GPTC_ERANGE, "sentencepiece: invalid id %d at position %zu (the model has %zu pieces)",
                             (int)ids[i], i, m->n);
    const char **pt = malloc((n_ids + 1) * sizeof *pt);
    size_t *pl = malloc((n_ids + 1) * sizeof *pl);
    gptc_status st = pt && pl ? GPTC_OK : gptc_fail(ctx, GPTC_ENOMEM, "sentencepiece: out of memory");
    for (size_t i = 0; !st && i < n_ids; i++) pt[i] = gptc_spm_piece(m, ids[i], &pl[i], NULL, NULL);
    if (!st) st = decode_core(ctx, m, ids, pt, pl, n_ids, text, len);
    free(pt);
    free(pl);
    return st;
}

gptc_status gptc_spm_decode_pieces(gptc_ctx *ctx, const gptc_spm *m, const char *const *pieces, const size_t *lens,
                                   size_t n, char **text, size_t *len) {
    *text = NULL;
    *len = 0;
    int32_t *ids = malloc((n + 1) * sizeof *ids);
    if (!ids) return gptc_fail(ctx, GPTC_ENOMEM, "sentencepiece: out of memory");
    for (size_t i = 0; i < n; i++) ids[i] = spm_piece_id(m, pieces[i], lens[i]);
    gptc_status st = decode_core(ctx, m, ids, pieces, lens, n, text, len);
    free(ids);
    return st;
}
