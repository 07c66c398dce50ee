#!/usr/bin/env bash
# t_atomic_dirs.sh: output directories and temp files (issue 10). (1) symlinks planted at
# the temp names of earlier versions and at the final output path are never followed;
# (2) merge-lora --out = --model leaves no adapter beside the merged weights; (3) kill -9
# injected (strace) at every fsync and rename of init --force, prepare and
# tokenizer-train leaves the old or the new directory, never a mix, and nothing of the
# old model survives; (4) a full disk (fsync ENOSPC) and a read-only parent (mkdir
# EROFS) give a clear error and leave the old directory; (5) checkpoint pruning and
# temps of killed runs.
source "$(dirname "$0")/lib.sh"
trap 'rm -rf "$T"' EXIT
G=$GPTC; [ -x "$GPTC_ASAN" ] && G=$GPTC_ASAN
HAVE_STRACE=0; command -v strace >/dev/null && strace -f -o /dev/null true 2>/dev/null && HAVE_STRACE=1
dead_pid() { sleep 0 & local p=$!; wait $p; echo $p; }
# a directory's listing with each file's checksum (hidden names too)
snap() { (cd "$1" 2>/dev/null && find . -mindepth 1 \( -type f -o -type l \) -printf '%p ' -exec sh -c 'sha1sum < "$1" | cut -c1-40' _ {} \; | sort) ; }
no_temps() { ! find "$1" -name '*.gptc-tmp.*' -o -name '*.gptc-old.*' | grep -q .; }

# ---- (1) symlink attacks
mkdir -p "$T/victim"; echo precious >"$T/victim/file"; echo precious >"$T/victim_file"
"$GPTC" init --out "$T/m" --preset tiny --vocab-size 300 --seed 1 >/dev/null
# what gptc 0.x used as temp names, for the pid the command will run as
bash -c 'ln -s "$1/victim_file" "$1/m/model.safetensors.tmp.$$"; ln -s "$1/victim_file" "$1/m/config.json.tmp.$$";
         exec "$2" init --out "$1/m" --preset tiny --vocab-size 300 --seed 2 --force' _ "$T" "$G" >/dev/null 2>"$T/err"
rc=$?
[ $rc = 0 ] && [ "$(cat "$T/victim_file")" = precious ] && pass "init: symlink at the old temp name not followed" ||
    fail "init: symlink at the old temp name not followed" "rc $rc, victim: $(head -c 100 "$T/victim_file") $(head -c 300 "$T/err")"
# a symlink at the final file path is replaced, not written through
ln -sf "$T/victim_file" "$T/m/generation_config.json"
"$G" init --out "$T/m" --preset tiny --vocab-size 300 --seed 3 --force >/dev/null 2>"$T/err"
[ "$(cat "$T/victim_file")" = precious ] && [ ! -L "$T/m/generation_config.json" ] &&
    pass "init: symlink at an output file replaced, not followed" ||
    fail "init: symlink at an output file replaced, not followed" "$(head -c 300 "$T/err")"
# a symlink as the output directory itself is refused
ln -s "$T/victim" "$T/link"
expect_error "init: symlink as the output directory refused" "symbolic link" \
    "$G" init --out "$T/link" --preset tiny --vocab-size 300 --force
[ "$(ls "$T/victim")" = file ] && pass "the directory behind it untouched" || fail "the directory behind it untouched" "$(ls "$T/victim")"
# training: old checkpoint temp name as a symlink to a directory with a file
$PY -c "import random; r=random.Random(1); print(' '.join(str(r.randrange(300)) for _ in range(3000)))" >"$T/ids.txt"
"$GPTC" prepare --tokens "$T/ids.txt" --vocab-size 300 --out "$T/data" >/dev/null 2>&1
TRAIN=(train --data "$T/data" --init "$T/m" --batch-size 2 --seq-len 16 --max-steps 3 --save-every 1 --keep-last 1
       --eval-every 0 --sample-tokens 0)
mkdir -p "$T/run/checkpoints"
bash -c 'for s in 1 2 3; do ln -s "$1/victim" "$1/run/checkpoints/.tmp-step-$s.$$"; done; ln -s "$1/victim" "$1/run/.tmp-model.$$"
         shift; exec "$@"' _ "$T" "$G" "${TRAIN[@]}" --out "$T/run" >"$T/out" 2>"$T/err"
rc=$?
[ $rc = 0 ] && [ "$(ls "$T/victim")" = file ] && [ "$(cat "$T/victim/file")" = precious ] &&
    pass "train: symlinks at the old checkpoint temp names not followed" ||
    fail "train: symlinks at the old checkpoint temp names not followed" "rc $rc, victim: $(ls "$T/victim") $(tail -c 300 "$T/err")"

# metrics.jsonl is opened without following a symlink, on a fresh run and on --resume
mkdir -p "$T/run_m"; ln -s "$T/victim_file" "$T/run_m/metrics.jsonl"
expect_error "train: symlink at metrics.jsonl refused" "metrics.jsonl: is a symbolic link" \
    "$G" "${TRAIN[@]}" --out "$T/run_m"
[ "$(cat "$T/victim_file")" = precious ] && pass "train: the file behind metrics.jsonl untouched" ||
    fail "train: the file behind metrics.jsonl untouched" "$(head -c 100 "$T/victim_file")"
rm "$T/run_m/metrics.jsonl"
"$G" "${TRAIN[@]}" --out "$T/run_m" --max-steps 2 >/dev/null 2>"$T/err" || fail "train run_m" "$(tail -c 300 "$T/err")"
mv "$T/run_m/metrics.jsonl" "$T/run_m/metrics.saved"; ln -s "$T/victim_file" "$T/run_m/metrics.jsonl"
expect_error "train --resume: symlink at metrics.jsonl refused" "metrics.jsonl: is a symbolic link" \
    "$G" train --resume "$T/run_m" --max-steps 3
[ "$(cat "$T/victim_file")" = precious ] && [ -L "$T/run_m/metrics.jsonl" ] &&
    pass "train --resume: the file behind metrics.jsonl untouched" ||
    fail "train --resume: the file behind metrics.jsonl untouched" "$(head -c 100 "$T/victim_file")"

# plot and attention write through a fresh temp file: a symlink at the old temp name
# (OUT.tmp) or at the output itself is never written through
echo precious >"$T/victim_plot"; rm "$T/run_m/metrics.jsonl"; mv "$T/run_m/metrics.saved" "$T/run_m/metrics.jsonl"
ln -s "$T/victim_plot" "$T/run_m/loss.svg.tmp"; ln -s "$T/victim_plot" "$T/run_m/plot2.svg"
"$G" plot --run "$T/run_m" >/dev/null 2>"$T/err" && "$G" plot --run "$T/run_m" --out "$T/run_m/plot2.svg" >/dev/null 2>>"$T/err"; rc=$?
[ $rc = 0 ] && [ "$(cat "$T/victim_plot")" = precious ] && [ ! -L "$T/run_m/plot2.svg" ] && grep -q "<svg" "$T/run_m/loss.svg" &&
    grep -q "<svg" "$T/run_m/plot2.svg" && pass "plot: symlinks at OUT.tmp and OUT not followed" ||
    fail "plot: symlinks at OUT.tmp and OUT not followed" "rc $rc, victim: $(head -c 100 "$T/victim_plot") $(head -c 300 "$T/err")"
ln -s "$T/victim_plot" "$T/att.svg"; echo "1 2 3" >"$T/ids3.txt"
"$G" attention --model "$T/m" --tokens "$T/ids3.txt" --out "$T/att.svg" >/dev/null 2>"$T/err"; rc=$?
[ $rc = 0 ] && [ "$(cat "$T/victim_plot")" = precious ] && [ ! -L "$T/att.svg" ] && grep -q "<svg" "$T/att.svg" &&
    pass "attention: symlink at --out replaced, not followed" ||
    fail "attention: symlink at --out replaced, not followed" "rc $rc, $(head -c 300 "$T/err")"
expect_error "attention: --out in a missing directory names the path" "$T/nodir/att.svg" \
    "$G" attention --model "$T/m" --tokens "$T/ids3.txt" --out "$T/nodir/att.svg"

# ---- (2) merge-lora in place
printf 'good film\t1\nbad film\t0\nfine movie\t1\nawful movie\t0\n' >"$T/cls.tsv"
"$GPTC" init --out "$T/base" --preset tiny --seed 5 >/dev/null 2>&1
"$GPTC" finetune --task classify --model "$T/base" --train "$T/cls.tsv" --no-header --out "$T/ft" --max-steps 2 \
    --batch-size 2 --lora --lora-r 2 >/dev/null 2>"$T/err" || fail "finetune --lora" "$(tail -c 300 "$T/err")"
cp -r "$T/ft/model" "$T/inplace"
"$G" merge-lora --model "$T/ft/model" --out "$T/merged" >/dev/null 2>"$T/err" &&
"$G" merge-lora --model "$T/inplace" --out "$T/inplace" >/dev/null 2>"$T/err"; rc=$?
if [ $rc = 0 ] && [ ! -e "$T/inplace/adapter_config.json" ] && [ ! -e "$T/inplace/adapter_model.safetensors" ] &&
   cmp -s "$T/inplace/model.safetensors" "$T/merged/model.safetensors" && [ -f "$T/inplace/vocab.json" ]
then pass "merge-lora --out = --model: merged weights, no adapter left beside them"
else fail "merge-lora --out = --model: merged weights, no adapter left beside them" "rc $rc: $(ls "$T/inplace") $(head -c 300 "$T/err")"; fi
echo "a good film" >"$T/q.txt"
"$G" classify --model "$T/inplace" "$T/q.txt" >"$T/c1" 2>&1 && "$G" classify --model "$T/merged" "$T/q.txt" >"$T/c2" 2>&1 &&
    cmp -s "$T/c1" "$T/c2" && pass "the model merged in place predicts as the one merged elsewhere" ||
    fail "the model merged in place predicts as the one merged elsewhere" "$(head -c 300 "$T/c1") / $(head -c 300 "$T/c2")"
expect_error "merge-lora of a merged model (no adapter)" "no LoRA adapter" "$G" merge-lora --model "$T/inplace" --out "$T/inplace"

# ---- (3) kill -9 between the files of a multi-file write
# kill_check NAME DIR OLD_SNAPSHOT NEW_SNAPSHOT SYSCALL MAX CMD...: for k in 1..MAX runs CMD
# killed at the k-th SYSCALL; DIR must afterwards be exactly old or exactly new.
kill_check() {
    local name=$1 dir=$2 old=$3 new=$4 sc=$5 max=$6; shift 6
    local bad="" k seen_old=0 seen_new=0
    for k in $(seq 1 "$max"); do
        rm -rf "$dir"; cp -a "$T/oldcopy" "$dir"
        ( strace -f -o /dev/null -e trace="$sc" -e inject="$sc":signal=KILL:when=$k "$@" >/dev/null 2>&1; : ) 2>/dev/null
        local now; now=$(snap "$dir")
        if [ "$now" = "$(cat "$old")" ]; then seen_old=1
        elif [ "$now" = "$(cat "$new")" ]; then seen_new=1
        else bad="$bad k=$k"; fi
    done
    [ -z "$bad" ] && pass "$name: kill -9 at each $sc leaves old or new (old seen $seen_old, new seen $seen_new)" ||
        fail "$name: kill -9 at each $sc leaves old or new" "a mix at$bad"
}
if [ $HAVE_STRACE = 1 ]; then
    # init --force: old = vocab 300 with generation_config.json of its own, new = GPT-2 vocab
    rm -rf "$T/k"; "$GPTC" init --out "$T/k" --preset tiny --vocab-size 300 --seed 1 >/dev/null
    echo '{"temperature": 0.5}' >"$T/k/generation_config.json"; echo mine >"$T/k/notes.txt"
    rm -rf "$T/oldcopy"; cp -a "$T/k" "$T/oldcopy"; snap "$T/k" >"$T/old.snap"
    "$GPTC" init --out "$T/k" --preset tiny --seed 2 --force >/dev/null; snap "$T/k" >"$T/new.snap"
    grep -q 'temperature' "$T/k/generation_config.json" && fail "init --force drops the old generation_config.json" "kept" ||
        pass "init --force drops the old generation_config.json"
    grep -q notes.txt "$T/new.snap" && pass "init --force keeps the user's own files" || fail "init --force keeps the user's own files" "gone"
    for sc in fsync rename renameat2; do kill_check "init --force" "$T/k" "$T/old.snap" "$T/new.snap" $sc 12 \
        "$GPTC" init --out "$T/k" --preset tiny --seed 2 --force; done
    "$GPTC" init --out "$T/k" --preset tiny --seed 2 --force >/dev/null 2>&1
    no_temps "$T" && pass "temps of killed runs are removed by the next run" ||
        fail "temps of killed runs are removed by the next run" "$(find "$T" -name '*.gptc-*' | head -3)"

    # prepare: old = text with a tokenizer/, new = --tokens (no tokenizer/)
    printf 'one two three four five six seven\n\nanother document here\n' >"$T/a.txt"
    rm -rf "$T/k"; "$GPTC" prepare --input "$T/a.txt" --out "$T/k" >/dev/null 2>&1
    rm -rf "$T/oldcopy"; cp -a "$T/k" "$T/oldcopy"; snap "$T/k" >"$T/old.snap"
    "$GPTC" prepare --tokens "$T/ids.txt" --vocab-size 300 --out "$T/k" >/dev/null 2>&1; snap "$T/k" >"$T/new.snap"
    [ ! -e "$T/k/tokenizer" ] && pass "prepare --tokens over text data drops the old tokenizer/" ||
        fail "prepare --tokens over text data drops the old tokenizer/" "$(ls "$T/k")"
    for sc in fsync rename renameat2; do kill_check "prepare" "$T/k" "$T/old.snap" "$T/new.snap" $sc 12 \
        "$GPTC" prepare --tokens "$T/ids.txt" --vocab-size 300 --out "$T/k"; done

    # tokenizer-train over an earlier vocabulary
    for i in $(seq 200); do echo "the quick brown fox $i jumps over the lazy dog $((i * 7))"; done >"$T/corpus.txt"
    rm -rf "$T/k"; "$GPTC" tokenizer-train --input "$T/corpus.txt" --vocab-size 300 --out "$T/k" >/dev/null 2>&1
    rm -rf "$T/oldcopy"; cp -a "$T/k" "$T/oldcopy"; snap "$T/k" >"$T/old.snap"
    "$GPTC" tokenizer-train --input "$T/corpus.txt" --vocab-size 340 --out "$T/k" >/dev/null 2>&1; snap "$T/k" >"$T/new.snap"
    for sc in fsync rename renameat2; do kill_check "tokenizer-train --out EXISTING" "$T/k" "$T/old.snap" "$T/new.snap" $sc 10 \
        "$GPTC" tokenizer-train --input "$T/corpus.txt" --vocab-size 340 --out "$T/k"; done

    # ---- (4) full disk, read-only parent
    rm -rf "$T/k"; cp -a "$T/oldcopy" "$T/k"
    expect_error "tokenizer-train on a full disk: clear error" "No space left" \
        strace -f -o /dev/null -e trace=fsync -e inject=fsync:error=ENOSPC:when=2 \
        "$GPTC" tokenizer-train --input "$T/corpus.txt" --vocab-size 340 --out "$T/k"
    [ "$(snap "$T/k")" = "$(cat "$T/old.snap")" ] && no_temps "$T" && pass "full disk: the old tokenizer intact, no temp left" ||
        fail "full disk: the old tokenizer intact, no temp left" "$(ls -a "$T/k")"
    expect_error "tokenizer-train into a read-only directory: clear error" "Read-only file system" \
        strace -f -o /dev/null -e trace=mkdir,mkdirat -e inject=mkdir,mkdirat:error=EROFS \
        "$GPTC" tokenizer-train --input "$T/corpus.txt" --vocab-size 340 --out "$T/k"
    [ "$(snap "$T/k")" = "$(cat "$T/old.snap")" ] && pass "read-only: the old tokenizer intact" ||
        fail "read-only: the old tokenizer intact" "$(ls -a "$T/k")"
else
    echo "(strace cannot trace here: kill and full-disk checks skipped)"
fi

# ---- (5) checkpoints: pruning, stale temps of killed runs (this and earlier versions)
D=$(dead_pid)
mkdir -p "$T/run2/checkpoints/step-1" "$T/run2/checkpoints/.tmp-step-2.$D" "$T/run2/checkpoints/.step-3.gptc-tmp.$D.abcdefghij" \
    "$T/run2/.tmp-model.$D" "$T/run2/model.old.$D"
echo x >"$T/run2/checkpoints/step-1/config.json"   # what a kill during pruning left before
"$G" "${TRAIN[@]}" --out "$T/run2" >/dev/null 2>"$T/err" || fail "train (pruning)" "$(tail -c 300 "$T/err")"
left=$(cd "$T/run2" && ls -a . checkpoints | tr '\n' ' ')
[ "$(ls "$T/run2/checkpoints")" = step-3 ] && [ ! -e "$T/run2/.tmp-model.$D" ] && [ ! -e "$T/run2/model.old.$D" ] &&
    no_temps "$T/run2" && pass "pruning keeps the last checkpoint only; stale temps and half-pruned steps removed" ||
    fail "pruning keeps the last checkpoint only; stale temps and half-pruned steps removed" "$left"
# a live process's temp is left alone
mkdir -p "$T/run2/checkpoints/.step-9.gptc-tmp.$$.abcdefghij"
"$G" "${TRAIN[@]}" --out "$T/run2" --max-steps 4 >/dev/null 2>"$T/err"
[ -d "$T/run2/checkpoints/.step-9.gptc-tmp.$$.abcdefghij" ] && pass "a running process's temp is left alone" ||
    fail "a running process's temp is left alone" "removed"
