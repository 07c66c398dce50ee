/* spm_load.c: reads a SentencePiece .model file (protobuf wire format, parsed by hand)
 * and checks it as sentencepiece 0.1.97's ModelInterface::InitializePieces and the
 * unigram/BPE constructors do. Encoding is spm.c's, normalization spm_norm.c's.
 *
 * The messages read (src/sentencepiece_model.proto), field number: wire type:
 *   ModelProto      1 pieces (SentencePiece, repeated) 2 trainer_spec 3 normalizer_spec
 *                   4 self_test_data (skipped) 5 denormalizer_spec
 *   SentencePiece   1 piece: bytes  2 score: fixed32 float  3 type: varint enum 1..6
 *   TrainerSpec     3 model_type: enum 1 UNIGRAM 2 BPE 3 WORD 4 CHAR  4 vocab_size
 *                   24 treat_whitespace_as_suffix: bool  35 byte_fallback: bool
 *                   44 unk_surface  45 unk_piece  46 bos_piece  47 eos_piece  48 pad_piece
 *   NormalizerSpec  1 name  2 precompiled_charsmap: bytes  3 add_dummy_prefix
 *                   4 remove_extra_whitespaces  5 escape_whitespaces (bools, default true)
 * Other fields are skipped by wire type (groups included); a known field with another
 * wire type, a length past its message, a varint over 10 bytes or wire type 6/7 is an
 * error naming the field and the byte offset. A message given twice merges (protobuf). */
#include "spm.h"
#include <float.h>
#include <stdlib.h>

typedef struct pb {
    gptc_ctx *ctx;
    const char *name;            /* file name for messages */
    const unsigned char *base;   /* start of the file */
    const unsigned char *p, *end;
} pb;

static size_t pb_off(const pb *r) { return (size_t)(r->p - r->base); }

static gptc_status pb_varint(pb *r, const char *what, uint64_t *v) {
    uint64_t x = 0;
    size_t off = pb_off(r);
    for (int i = 0; i < 10; i++) {
        if (r->p >= r->end)
            return gptc_fail(r->ctx, GPTC_EFORMAT, "%s: %s: varint truncated at byte %zu", r->name, what, off);
        unsigned char c = *r->p++;
        x |= (uint64_t)(c & 0x7f) << (7 * i);
        if (!(c & 0x80)) {
            *v = x;
            return GPTC_OK;
        }
    }
    return gptc_fail(r->ctx, GPTC_EFORMAT, "%s: %s: varint longer than 10 bytes at byte %zu", r->name, what, off);
}

static const char *wire_name(int wt) {
    static const char *const n[8] = {"varint", "fixed64", "length-delimited", "start-group",
                                     "end-group", "fixed32", "invalid (6)", "invalid (7)"};
    return n[wt & 7];
}

static gptc_status want_wire(pb *r, const char *what, int wt, int want, size_t off) {
    if (wt == want) return GPTC_OK;
    return gptc_fail(r->ctx, GPTC_EFORMAT, "%s: %s: wire type %d (%s) at byte %zu, expected %d (%s)", r->name, what,
                     wt, wire_name(wt), off, want, wire_name(want));
}

/* A length-delimited payload: [*s, *s + *n) inside the current message. */
static gptc_status pb_bytes(pb *r, const char *what, const unsigned char **s, size_t *n) {
    uint64_t len;
    size_t off = pb_off(r);
    gptc_status st = pb_varint(r, what, &len);
    if (st) return st;
    size_t left = (size_t)(r->end - r->p);
    if (len > left)
        return gptc_fail(r->ctx, GPTC_EFORMAT, "%s: %s: length %llu at byte %zu past the end of its message (%zu bytes left)",
                         r->name, what, (unsigned long long)len, off, left);
    *s = r->p;
    *n = (size_t)len;
    r->p += len;
    return GPTC_OK;
}

/* Skips one field's value of wire type wt (a group up to its end tag, nested). */
static gptc_status pb_skip(pb *r, const char *what, int wt, uint64_t field, size_t off, int depth) {
    uint64_t v;
    const unsigned char *s;
    size_t n;
    switch (wt) {
    case 0: return pb_varint(r, what, &v);
    case 1:
    case 5: {
        size_t k = wt == 1 ? 8 : 4;
        if ((size_t)(r->end - r->p) < k)
            return gptc_fail(r->ctx, GPTC_EFORMAT, "%s: %s: field %llu (%s) truncated at byte %zu", r->name, what,
                             (unsigned long long)field, wire_name(wt), off);
        r->p += k;
        return GPTC_OK;
    }
    case 2: return pb_bytes(r, what, &s, &n);
    case 3:
        if (depth > 64)
            return gptc_fail(r->ctx, GPTC_EFORMAT, "%s: %s: groups nested deeper than 64 at byte %zu", r->name, what, off);
        for (;;) {
            size_t o = pb_off(r);
            uint64_t tag;
            if (r->p >= r->end)
                return gptc_fail(r->ctx, GPTC_EFORMAT, "%s: %s: group of field %llu at byte %zu has no end", r->name,
                                 what, (unsigned long long)field, off);
            gptc_status st = pb_varint(r, what, &tag);
            if (st) return st;
            int w = (int)(tag & 7);
            if (w == 4) {
                if ((tag >> 3) != field)
                    return gptc_fail(r->ctx, GPTC_EFORMAT, "%s: %s: end of group %llu at byte %zu closes group %llu",
                                     r->name, what, (unsigned long long)(tag >> 3), o, (unsigned long long)field);
                return GPTC_OK;
            }
            if ((st = pb_skip(r, what, w, tag >> 3, o, depth + 1))) return st;
        }
    case 4:
        return gptc_fail(r->ctx, GPTC_EFORMAT, "%s: %s: end-group tag of field %llu at byte %zu without a start", r->name,
                         what, (unsigned long long)field, off);
    default:
        return gptc_fail(r->ctx, GPTC_EFORMAT, "%s: %s: invalid wire type %d at byte %zu", r->name, what, wt, off);
    }
}

/* Reads the next tag; *field 0 is refused. */
static gptc_status pb_tag(pb *r, const char *what, uint64_t *field, int *wt, size_t *off) {
    *off = pb_off(r);
    uint64_t tag;
    gptc_status st = pb_varint(r, what, &tag);
    if (st) return st;
    *field = tag >> 3;
    *wt = (int)(tag & 7);
    if (*field == 0) return gptc_fail(r->ctx, GPTC_EFORMAT, "%s: %s: field number 0 at byte %zu", r->name, what, *off);
    return GPTC_OK;
}

static gptc_status pb_bool(pb *r, const char *what, int wt, size_t off, int *out) {
    uint64_t v;
    gptc_status st = want_wire(r, what, wt, 0, off);
    if (!st) st = pb_varint(r, what, &v);
    if (!st) *out = v != 0;
    return st;
}

static gptc_status pb_string(pb *r, const char *what, int wt, size_t off, spm_str *out) {
    const unsigned char *s;
    size_t n;
    gptc_status st = want_wire(r, what, wt, 2, off);
    if (!st) st = pb_bytes(r, what, &s, &n);
    if (!st) *out = (spm_str){(const char *)s, n, 1};
    return st;
}

/* An enum field: int32 of the varint, within [lo, hi]. */
static gptc_status pb_enum(pb *r, const char *what, int wt, size_t off, int lo, int hi, int *out) {
    uint64_t v;
    gptc_status st = want_wire(r, what, wt, 0, off);
    if (!st) st = pb_varint(r, what, &v);
    if (st) return st;
    int32_t x = (int32_t)(uint32_t)v;
    if (x < lo || x > hi)
        return gptc_fail(r->ctx, GPTC_EFORMAT, "%s: %s: value %d at byte %zu is not one of %d..%d", r->name, what, x,
                         off, lo, hi);
    *out = x;
    return GPTC_OK;
}

/* A message's fields one by one: fn reads the fields it knows (and sets *known), the
 * others are skipped by wire type. */
typedef gptc_status (*pb_field_fn)(pb *r, void *obj, const char *what, uint64_t f, int wt, size_t off, int *known);
static gptc_status pb_fields(pb *r, const char *what, pb_field_fn fn, void *obj) {
    while (r->p < r->end) {
        uint64_t f;
        int wt, known = 0;
        size_t off;
        gptc_status st = pb_tag(r, what, &f, &wt, &off);
        if (!st) st = fn(r, obj, what, f, wt, off, &known);
        if (!st && !known) st = pb_skip(r, what, wt, f, off, 0);
        if (st) return st;
    }
    return GPTC_OK;
}

/* The sub-message at the current field (wire type 2), read with fn. */
static gptc_status pb_sub(pb *r, const char *what, int wt, size_t off, pb_field_fn fn, void *obj) {
    const unsigned char *s;
    size_t n;
    gptc_status st = want_wire(r, what, wt, 2, off);
    if (!st) st = pb_bytes(r, what, &s, &n);
    if (st) return st;
    pb sub = *r;
    sub.p = s;
    sub.end = s + n;
    return pb_fields(&sub, what, fn, obj);
}

typedef struct piece_in { gptc_spm *m; size_t i; } piece_in;

static gptc_status piece_field(pb *r, void *obj, const char *what, uint64_t f, int wt, size_t off, int *known) {
    piece_in *pi = obj;
    gptc_spm *m = pi->m;
    char w[64];
    gptc_status st = GPTC_OK;
    *known = f >= 1 && f <= 3;
    if (f == 1) {
        snprintf(w, sizeof w, "%s.piece", what);
        spm_str s;
        if (!(st = pb_string(r, w, wt, off, &s))) m->piece[pi->i] = s.s, m->plen[pi->i] = (uint32_t)s.len;
    } else if (f == 2) {
        snprintf(w, sizeof w, "%s.score", what);
        if ((st = want_wire(r, w, wt, 5, off))) return st;
        if (r->end - r->p < 4)
            return gptc_fail(r->ctx, GPTC_EFORMAT, "%s: %s: fixed32 truncated at byte %zu", r->name, w, off);
        uint32_t u = (uint32_t)r->p[0] | (uint32_t)r->p[1] << 8 | (uint32_t)r->p[2] << 16 | (uint32_t)r->p[3] << 24;
        memcpy(&m->score[pi->i], &u, 4);
        r->p += 4;
    } else if (f == 3) {
        snprintf(w, sizeof w, "%s.type", what);
        int t;
        if (!(st = pb_enum(r, w, wt, off, 1, 6, &t))) m->type[pi->i] = (uint8_t)t;
    }
    return st;
}

static gptc_status trainer_field(pb *r, void *obj, const char *what, uint64_t f, int wt, size_t off, int *known) {
    gptc_spm *m = obj;
    *known = 1;
    switch (f) {
    case 3: return pb_enum(r, "trainer_spec.model_type", wt, off, 1, 4, &m->model_type);
    case 24: return pb_bool(r, "trainer_spec.treat_whitespace_as_suffix", wt, off, &m->treat_ws_suffix);
    case 35: return pb_bool(r, "trainer_spec.byte_fallback", wt, off, &m->byte_fallback);
    case 44: return pb_string(r, "trainer_spec.unk_surface", wt, off, &m->unk_surface);
    case 45: return pb_string(r, "trainer_spec.unk_piece", wt, off, &m->unk_piece);
    case 46: return pb_string(r, "trainer_spec.bos_piece", wt, off, &m->bos_piece);
    case 47: return pb_string(r, "trainer_spec.eos_piece", wt, off, &m->eos_piece);
    case 48: return pb_string(r, "trainer_spec.pad_piece", wt, off, &m->pad_piece);
    default: *known = 0; return GPTC_OK;
    }
}

static gptc_status norm_field(pb *r, void *obj, const char *what, uint64_t f, int wt, size_t off, int *known) {
    static const char *const names[6] = {"", "name", "precompiled_charsmap", "add_dummy_prefix",
                                         "remove_extra_whitespaces", "escape_whitespaces"};
    spm_norm_spec *ns = obj;
    *known = f >= 1 && f <= 5;
    if (!*known) return GPTC_OK;
    char w[80];
    snprintf(w, sizeof w, "%s.%s", what, names[f]);
    spm_str s;
    gptc_status st;
    switch (f) {
    case 1:
        if (!(st = pb_string(r, w, wt, off, &s))) ns->name = s.s, ns->name_len = s.len;
        return st;
    case 2:
        if (!(st = pb_string(r, w, wt, off, &s))) ns->charsmap = (const unsigned char *)s.s, ns->charsmap_len = s.len;
        return st;
    case 3: return pb_bool(r, w, wt, off, &ns->add_dummy_prefix);
    case 4: return pb_bool(r, w, wt, off, &ns->remove_extra_whitespaces);
    default: return pb_bool(r, w, wt, off, &ns->escape_whitespaces);
    }
}

typedef struct model_in { gptc_spm *m; size_t i; int count_only; } model_in;

/* ModelProto's fields; with count_only the pieces are counted (a first pass). */
static gptc_status model_field(pb *r, void *obj, const char *what, uint64_t f, int wt, size_t off, int *known) {
    static const char *const names[6] = {"ModelProto", "pieces", "trainer_spec", "normalizer_spec",
                                         "self_test_data", "denormalizer_spec"};
    model_in *mi = obj;
    gptc_spm *m = mi->m;
    char w[48];
    if (f == 1) snprintf(w, sizeof w, "pieces[%zu]", mi->i);
    else snprintf(w, sizeof w, "%s", names[f < 6 ? f : 0]);
    *known = 1;
    if (mi->count_only) {
        gptc_status st = f == 1 ? want_wire(r, "pieces", wt, 2, off) : GPTC_OK;
        if (!st) st = pb_skip(r, w, wt, f, off, 0);
        mi->i += f == 1;
        return st;
    }
    if (f == 1) {
        piece_in pi = {m, mi->i++};
        return pb_sub(r, w, wt, off, piece_field, &pi);
    }
    if (f == 2) return pb_sub(r, w, wt, off, trainer_field, m);
    if (f == 3 || f == 5) {
        spm_norm_spec *ns = f == 3 ? &m->norm : &m->denorm;
        ns->present = 1;
        return pb_sub(r, w, wt, off, norm_field, ns);
    }
    *known = 0;
    return GPTC_OK;
}

/* ---------------------------------------------------------------- the piece trie */

static gptc_status trie_init(gptc_ctx *ctx, spm_trie *t, size_t max_nodes) {
    size_t cap = 16;
    while (cap < 2 * max_nodes) cap <<= 1;
    t->mask = cap - 1;
    t->keys = gptc_calloc(ctx, cap, sizeof *t->keys, "spm trie");
    t->child = gptc_alloc(ctx, cap * sizeof *t->child, "spm trie");
    t->normal = gptc_alloc(ctx, max_nodes * sizeof *t->normal, "spm trie");
    t->reserved = gptc_alloc(ctx, max_nodes * sizeof *t->reserved, "spm trie");
    if (!t->keys || !t->child || !t->normal || !t->reserved) return GPTC_ENOMEM;
    t->cap_nodes = max_nodes;
    t->n_nodes = 1;
    t->normal[0] = t->reserved[0] = -1;
    return GPTC_OK;
}

/* The node of s[0..len), created when create (else -1 when absent). */
static int32_t trie_walk(spm_trie *t, const char *s, size_t len, int create) {
    int32_t node = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        int32_t nx = spm_trie_next(t, node, c);
        if (nx < 0) {
            if (!create) return -1;
            uint64_t key = ((uint64_t)node << 8 | c) + 1;
            size_t h = (size_t)((key * 0x9E3779B97F4A7C15ull) >> 17) & t->mask;
            while (t->keys[h]) h = (h + 1) & t->mask;
            nx = (int32_t)t->n_nodes++;
            t->keys[h] = key;
            t->child[h] = nx;
            t->normal[nx] = t->reserved[nx] = -1;
        }
        node = nx;
    }
    return node;
}

int32_t spm_piece_id(const gptc_spm *m, const char *s, size_t len) {
    int32_t node = trie_walk((spm_trie *)&m->trie, s, len, 0);
    if (node >= 0 && m->trie.reserved[node] >= 0) return m->trie.reserved[node];
    if (node >= 0 && m->trie.normal[node] >= 0) return m->trie.normal[node];
    return m->unk_id;
}

size_t spm_user_prefix(const gptc_spm *m, const char *s, size_t len) {
    if (!m->has_user) return 0;
    int32_t node = 0;
    size_t best = 0;
    for (size_t i = 0; i < len; i++) {
        node = spm_trie_next(&m->trie, node, (unsigned char)s[i]);
        if (node < 0) break;
        int32_t id = m->trie.normal[node];
        if (id >= 0 && m->type[id] == GPTC_SPM_USER_DEFINED) best = i + 1;
    }
    return best;
}

/* "<0xNN>" -> NN, else -1 (sentencepiece's PieceToByte: two upper-case hex digits). */
static int piece_byte(const char *s, size_t n) {
    if (n != 6 || memcmp(s, "<0x", 3) || s[5] != '>') return -1;
    int v = 0;
    for (int k = 3; k < 5; k++) {
        char c = s[k];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0) return -1;
        v = v * 16 + d;
    }
    return v;
}

/* The checks and maps of ModelInterface::InitializePieces. */
static gptc_status init_pieces(gptc_ctx *ctx, const char *name, gptc_spm *m) {
    size_t total = 1;
    for (size_t i = 0; i < m->n; i++) total += m->plen[i];
    gptc_status st = trie_init(ctx, &m->trie, total);
    if (st) return gptc_fail_prefix(ctx, st, "%s", name);
    int byte_seen[256] = {0};
    m->unk_id = -1;
    for (size_t i = 0; i < m->n; i++) {
        const char *s = m->piece[i];
        size_t n = m->plen[i];
        int t = m->type[i];
        if (!n) return gptc_fail(ctx, GPTC_EFORMAT, "%s: pieces[%zu]: piece must not be empty", name, i);
        if (memchr(s, 0, n))
            return gptc_fail(ctx, GPTC_ENOTSUP, "%s: pieces[%zu] holds a NUL byte (sentencepiece's tries cut it there)",
                             name, i);
        int normal = t == GPTC_SPM_NORMAL || t == GPTC_SPM_USER_DEFINED || t == GPTC_SPM_UNUSED;
        int32_t node = trie_walk(&m->trie, s, n, 1);
        int32_t *slot = normal ? &m->trie.normal[node] : &m->trie.reserved[node];
        if (*slot >= 0)
            return gptc_fail(ctx, GPTC_EFORMAT, "%s: pieces[%zu] \"%.*s\" is already defined (pieces[%d])", name, i,
                             (int)(n > 200 ? 200 : n), s, (int)*slot);
        *slot = (int32_t)i;
        if (t == GPTC_SPM_USER_DEFINED) m->has_user = 1;
        if (t == GPTC_SPM_UNKNOWN) {
            if (m->unk_id >= 0)
                return gptc_fail(ctx, GPTC_EFORMAT, "%s: pieces[%zu]: unk is already defined (pieces[%d])", name, i,
                                 (int)m->unk_id);
            m->unk_id = (int32_t)i;
        }
        if (t == GPTC_SPM_BYTE) {
            if (!m->byte_fallback)
                return gptc_fail(ctx, GPTC_EFORMAT, "%s: pieces[%zu]: byte piece %.*s is found although byte_fallback is false",
                                 name, i, (int)(n > 200 ? 200 : n), s);
            int b = piece_byte(s, n);
            if (b < 0)
                return gptc_fail(ctx, GPTC_EFORMAT, "%s: pieces[%zu]: byte piece \"%.*s\" is invalid (want <0xNN>)", name,
                                 i, (int)(n > 200 ? 200 : n), s);
            byte_seen[b] = 1;
        }
    }
    if (m->unk_id < 0) return gptc_fail(ctx, GPTC_EFORMAT, "%s: unk is not defined (no piece of type UNKNOWN)", name);
    for (int b = 0; b < 256; b++) {
        m->byte_id[b] = -1;
        if (!m->byte_fallback) continue;
        if (!byte_seen[b])
            return gptc_fail(ctx, GPTC_EFORMAT, "%s: there are not 256 byte pieces although byte_fallback is true (<0x%02X> "
                             "is missing)", name, b);
        char p[7];
        snprintf(p, sizeof p, "<0x%02X>", b);
        m->byte_id[b] = spm_piece_id(m, p, 6);
    }
    return GPTC_OK;
}

static void norm_defaults(spm_norm_spec *ns) {
    ns->add_dummy_prefix = ns->remove_extra_whitespaces = ns->escape_whitespaces = 1;
}

gptc_status gptc_spm_load_buffer(gptc_ctx *ctx, const void *data, size_t size, const char *name, gptc_spm **out) {
    *out = NULL;
    gptc_spm *m = gptc_calloc(ctx, 1, sizeof *m, "spm model");
    if (!m) return gptc_fail_prefix(ctx, GPTC_ENOMEM, "%s", name);
    m->buf = gptc_alloc(ctx, size ? size : 1, "spm model");
    if (!m->buf) {
        gptc_spm_free(m);
        return gptc_fail_prefix(ctx, GPTC_ENOMEM, "%s", name);
    }
    if (size) memcpy(m->buf, data, size);
    m->size = size;
    m->model_type = 1;
    norm_defaults(&m->norm);
    norm_defaults(&m->denorm);
    pb r = {ctx, name, m->buf, m->buf, m->buf + size}, r2 = r;
    model_in mi = {m, 0, 1};
    gptc_status st = pb_fields(&r2, "ModelProto", model_field, &mi);
    m->n = mi.i;
    if (!st && m->n > UINT32_MAX / 2) st = gptc_fail(ctx, GPTC_EFORMAT, "%s: %zu pieces", name, m->n);
    if (!st) {
        size_t n = m->n ? m->n : 1;
        m->piece = gptc_calloc(ctx, n, sizeof *m->piece, "spm pieces");
        m->plen = gptc_calloc(ctx, n, sizeof *m->plen, "spm pieces");
        m->score = gptc_calloc(ctx, n, sizeof *m->score, "spm pieces");
        m->type = gptc_alloc(ctx, n, "spm pieces");
        if (!m->piece || !m->plen || !m->score || !m->type) st = gptc_fail_prefix(ctx, GPTC_ENOMEM, "%s", name);
        else memset(m->type, GPTC_SPM_NORMAL, n);
    }
    mi = (model_in){m, 0, 0};
    if (!st) st = pb_fields(&r, "ModelProto", model_field, &mi);
    if (!st && m->model_type > 2)
        st = gptc_fail(ctx, GPTC_ENOTSUP, "%s: trainer_spec.model_type %s: only UNIGRAM and BPE models are supported",
                       name, m->model_type == 3 ? "WORD" : "CHAR");
    if (!st) st = init_pieces(ctx, name, m);
    if (!st) {
        m->min_score = FLT_MAX;
        m->max_score = FLT_MIN; /* as sentencepiece: the smallest positive float */
        int any = 0;
        for (size_t i = 0; i < m->n; i++) {
            if (m->type[i] != GPTC_SPM_NORMAL) continue;
            float s = m->score[i];
            m->min_score = s < m->min_score ? s : m->min_score; /* std::min, std::max */
            m->max_score = m->max_score < s ? s : m->max_score;
        }
        for (size_t i = 0; i < m->trie.n_nodes; i++) any |= m->trie.normal[i] >= 0;
        if (m->model_type == 1 && !m->n) st = gptc_fail(ctx, GPTC_EFORMAT, "%s: no pieces are loaded", name);
        else if (m->model_type == 1 && !any)
            st = gptc_fail(ctx, GPTC_EFORMAT, "%s: no entry is found in the trie (no NORMAL, USER_DEFINED or UNUSED "
                           "piece)", name);
    }
    if (!st && m->norm.charsmap_len) st = spm_charsmap_init(ctx, name, "normalizer_spec", &m->norm);
    if (!st && m->denorm.present && m->denorm.charsmap_len)
        st = spm_charsmap_init(ctx, name, "denormalizer_spec", &m->denorm);
    if (st) {
        gptc_spm_free(m);
        return st;
    }
    *out = m;
    return GPTC_OK;
}

gptc_status gptc_spm_load(gptc_ctx *ctx, const char *path, gptc_spm **out) {
    *out = NULL;
    gptc_mapped map;
    gptc_status st = gptc_file_map(ctx, path, &map);
    if (st) return st;
    st = gptc_spm_load_buffer(ctx, map.data, map.size, path, out);
    gptc_file_unmap(&map);
    return st;
}

void gptc_spm_free(gptc_spm *m) {
    if (!m) return;
    gptc_free(m->trie.keys);
    gptc_free(m->trie.child);
    gptc_free(m->trie.normal);
    gptc_free(m->trie.reserved);
    gptc_free(m->piece);
    gptc_free(m->plen);
    gptc_free(m->score);
    gptc_free(m->type);
    gptc_free(m->buf);
    gptc_free(m);
}

size_t gptc_spm_n_pieces(const gptc_spm *m) { return m->n; }

const char *gptc_spm_piece(const gptc_spm *m, int32_t id, size_t *len, float *score, gptc_spm_type *type) {
    if (id < 0 || (size_t)id >= m->n) return NULL;
    if (len) *len = m->plen[id];
    if (score) *score = m->score[id];
    if (type) *type = (gptc_spm_type)m->type[id];
    return m->piece[id];
}

int32_t gptc_spm_piece_to_id(const gptc_spm *m, const char *piece, size_t len) { return spm_piece_id(m, piece, len); }

int gptc_spm_is_bpe(const gptc_spm *m) { return m->model_type == 2; }

/* The id of the trainer spec's piece (or its default) when it has type want, else -1. */
static int32_t special_id(const gptc_spm *m, spm_str s, const char *def, int want) {
    if (!s.len) s = (spm_str){def, strlen(def), 1};
    int32_t id = spm_piece_id(m, s.s, s.len);
    return id >= 0 && m->type[id] == want ? id : -1;
}

gptc_spm_special gptc_spm_special_ids(const gptc_spm *m) {
    gptc_spm_special s;
    s.unk = special_id(m, m->unk_piece, "<unk>", GPTC_SPM_UNKNOWN);
    s.bos = special_id(m, m->bos_piece, "<s>", GPTC_SPM_CONTROL);
    s.eos = special_id(m, m->eos_piece, "</s>", GPTC_SPM_CONTROL);
    s.pad = special_id(m, m->pad_piece, "<pad>", GPTC_SPM_CONTROL);
    return s;
}
