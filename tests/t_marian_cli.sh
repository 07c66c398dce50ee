#!/usr/bin/env bash
# t_marian_cli.sh: `gptc init --arch marian` (presets, overrides, option errors), `gptc
# info` on a Marian directory, and the commands that do not take an encoder-decoder
# refusing it with a message (generate, chat, serve, quantize, export, classify, finetune
# --task classify, train --preset).
source "$(dirname "$0")/lib.sh"
rc=0

# transformer-base as the paper: 6 + 6 layers, d 512, 8 heads, ffn 2048; with a
# 32000-token shared vocabulary (tied) that is 60.5M parameters: 32000*512 embeddings,
# per encoder layer 4*(512*512+512) + 2*512*2048+2048+512 + 4*512, per decoder layer
# another attention and norm, final_logits_bias 32000
check "init transformer-base" "$GPTC" init --out "$T/base" --arch marian --preset transformer-base --vocab-size 32000 --dtype bf16
want=$($PY -c 'C,F,V=512,2048,32000
att=4*(C*C+C); mlp=2*C*F+F+C
print(V*C + 6*(att+mlp+4*C) + 6*(2*att+mlp+6*C) + V)')
"$GPTC" info --model "$T/base" --json >"$T/info.json" 2>"$T/err" || fail "info --json" "$(head -c 300 "$T/err")"
$PY - "$T/info.json" "$want" <<'PY' && pass "info: transformer-base sizes and $want parameters" || { fail "info transformer-base" "$(head -c 400 "$T/info.json")"; rc=1; }
import json, sys
j = json.load(open(sys.argv[1]))
c = j["config"]
ok = (j["model_type"] == "marian" and j["architecture"] == "MarianMTModel" and j["encoder_layers"] == 6
      and j["decoder_layers"] == 6 and c["n_embd"] == 512 and c["n_head"] == 8 and j["encoder_attention_heads"] == 8
      and c["n_inner"] == 2048 and j["encoder_ffn_dim"] == 2048 and j["scale_embedding"] is True
      and j["pad_token_id"] == 31999 and j["decoder_start_token_id"] == 31999 and c["eos_token_id"] == 0
      and j["params"]["total"] == int(sys.argv[2]))
sys.exit(0 if ok else 1)
PY
stored=$($PY -c 'import sys; sys.path.insert(0, sys.argv[2]); from gpt2_torch import st_read; print(sum(v.size for v in st_read(sys.argv[1]).values()))' "$T/base/model.safetensors" "$ROOT/tests/ref")
[ "$stored" = "$want" ] && pass "the file holds $want parameters" || { fail "parameters in the file" "$stored != $want"; rc=1; }
cfg=$($PY -c 'import json,sys; c=json.load(open(sys.argv[1])); print(c["d_model"], c["encoder_layers"], c["decoder_layers"], c["decoder_attention_heads"], c["decoder_ffn_dim"], c["max_position_embeddings"], c["scale_embedding"])' "$T/base/config.json")
[ "$cfg" = "512 6 6 8 2048 512 True" ] && pass "config.json of transformer-base" || { fail "config.json of transformer-base" "$cfg"; rc=1; }

# small presets with fields overridden; odd d_model, separate embeddings, relu
check "init marian-small overridden" "$GPTC" init --out "$T/m" --arch marian --preset marian-small --d-model 45 --n-head 3 \
    --encoder-layers 2 --decoder-layers 1 --decoder-attention-heads 5 --encoder-ffn-dim 33 --vocab-size 211 \
    --activation-function relu --no-share-embeddings --no-tie-word-embeddings --pad-token-id 5 --scale-embedding
out=$($PY -c 'import json,sys; c=json.load(open(sys.argv[1])); print(c["d_model"], c["encoder_layers"], c["decoder_layers"], c["encoder_attention_heads"], c["decoder_attention_heads"], c["encoder_ffn_dim"], c["decoder_ffn_dim"], c["activation_function"], c["share_encoder_decoder_embeddings"], c["tie_word_embeddings"], c["pad_token_id"], c["decoder_start_token_id"], c["scale_embedding"])' "$T/m/config.json")
[ "$out" = "45 2 1 3 5 33 1024 relu False False 5 5 True" ] && pass "overrides in config.json" || { fail "overrides in config.json" "$out"; rc=1; }
names=$($PY -c 'import sys; sys.path.insert(0, sys.argv[2]); from gpt2_torch import st_read; print(" ".join(sorted(k for k in st_read(sys.argv[1]) if "layers" not in k)))' "$T/m/model.safetensors" "$ROOT/tests/ref")
[ "$names" = "final_logits_bias lm_head.weight model.decoder.embed_tokens.weight model.encoder.embed_tokens.weight" ] &&
    pass "unshared, untied tensor names" || { fail "unshared, untied tensor names" "$names"; rc=1; }
"$GPTC" info --model "$T/m" >"$T/info.txt" 2>&1 && grep -q "encoder_layers 2, decoder_layers 1" "$T/info.txt" &&
    grep -q "separate encoder/decoder embeddings, scaled by sqrt(d_model)" "$T/info.txt" && pass "info text" ||
    { fail "info text" "$(head -c 400 "$T/info.txt")"; rc=1; }

expect_error "init: --n-layer with marian" "encoder-layers" "$GPTC" init --out "$T/x" --arch marian --preset marian-tiny --n-layer 4
expect_error "init: encoder options need marian" "need --arch marian" "$GPTC" init --out "$T/x" --preset tiny --encoder-layers 2
expect_error "init: a GPT-2 preset with marian" "not a Marian preset" "$GPTC" init --out "$T/x" --arch marian --preset tiny
expect_error "init: heads must divide d_model" "divisible" "$GPTC" init --out "$T/x" --arch marian --preset marian-tiny --d-model 45 --encoder-attention-heads 4
expect_error "init: bad activation" "activation_function" "$GPTC" init --out "$T/x" --arch marian --preset marian-tiny --activation-function tanh
[ -e "$T/x" ] && { fail "init errors leave nothing" "$T/x exists"; rc=1; } || pass "init errors leave nothing"

# commands that continue a prompt, quantize or export refuse it (a model with a
# tokenizer, so the refusal is what stops them)
"$GPTC" init --out "$T/mt" --arch marian --preset marian-tiny --vocab-size 300 >/dev/null 2>&1 || fail "init mt" "failed"
head -c 20000 "$ROOT/README.md" >"$T/text.txt"
"$GPTC" tokenizer-train --input "$T/text.txt" --vocab-size 280 --no-default-special --out "$T/tok" >/dev/null 2>&1 &&
    cp "$T/tok/vocab.json" "$T/tok/merges.txt" "$T/mt/" || fail "tokenizer for the refusals" "tokenizer-train failed"
expect_error "generate refuses marian" "encoder-decoder.*translate" "$GPTC" generate --model "$T/mt" --prompt hi
expect_error "chat refuses marian" "encoder-decoder.*translate" "$GPTC" chat --model "$T/mt" </dev/null
expect_error "serve refuses marian" "encoder-decoder" "$GPTC" serve --model "$T/mt" --port 0
expect_error "quantize refuses marian" "GPT-2 models" "$GPTC" quantize --model "$T/mt" --type q8_0 --out "$T/q"
expect_error "export refuses marian" "GPT-2|tokenizer" "$GPTC" export --format gguf --model "$T/mt" --out "$T/x.gguf"
printf 'text\tlabel\nhello\tpos\nbye\tneg\n' >"$T/cls.tsv"
expect_error "finetune --task classify refuses marian" "only its LM head" "$GPTC" finetune --task classify --model "$T/mt" --train "$T/cls.tsv" --out "$T/fc"
echo hello >"$T/in.txt"
expect_error "classify refuses marian" "not a classification model" "$GPTC" classify --model "$T/mt" "$T/in.txt"
seq 1 300 | tr '\n' ' ' >"$T/ids.txt"
"$GPTC" prepare --tokens "$T/ids.txt" --out "$T/shards" --vocab-size 400 >/dev/null 2>&1 || fail "prepare shards" "failed"
expect_error "train --preset marian refuses shards" "sentence pairs" "$GPTC" train --data "$T/shards" --out "$T/tr" --preset marian-tiny
[ -e "$T/q" ] || [ -e "$T/tr" ] || [ -e "$T/fc" ] && { fail "refusals leave nothing" "an output exists"; rc=1; } || pass "refusals leave nothing"

rm -rf "$T"
exit $rc
