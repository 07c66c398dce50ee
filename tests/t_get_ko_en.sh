#!/usr/bin/env bash
# t_get_ko_en.sh: scripts/get_ko_en.py. First on two small .deb packages built here
# (dpkg-deb -b) with help pages written by hand: the pairs must be exactly those
# derived below (hidden variants left out, untranslated and empty paragraphs dropped,
# a page missing in Korean skipped, <br> as a space). Then, when apt can download
# Debian's libreoffice-help-en-us and libreoffice-help-ko, on the real packages: about
# 28,000 pairs, splits that share no English sentence.
source "$(dirname "$0")/lib.sh"
S=$ROOT/scripts/get_ko_en.py
mkpkg() { # NAME LANGDIR: a .deb with the pages below
    local d=$T/$1
    local pages=$d/usr/share/libreoffice/help/$2/text/shared
    mkdir -p "$d/DEBIAN" "$pages"
    printf 'Package: %s\nVersion: 1\nArchitecture: all\nMaintainer: t <t@t>\nDescription: test\n' "$1" >"$d/DEBIAN/control"
    cat >"$pages/a.html"
    dpkg-deb -b "$d" "$T/debs/${1}_1_all.deb" >/dev/null
}
mkdir -p "$T/debs"
mkpkg libreoffice-help-en-us en-US <<'H'
<html><body><h1 id="hd_id1">Load &amp; Save</h1>
<p id="par_id2" class="paragraph">Choose <span hidden="true" class="MAC">Mac only</span><span>Tools - Options</span>.</p>
<p id="par_id3">Same text</p><p id="par_id4">Line one<br>line two</p><p id="par_id5"></p>
<p id="par_id6">Only in English</p><td><p id="par_id7">  cell   text </p></td></body></html>
H
mkpkg libreoffice-help-ko ko <<'H'
<html><body><h1 id="hd_id1">불러오기 및 저장</h1>
<p id="par_id2" class="paragraph"><span hidden="true" class="MAC">맥 전용</span><span>도구 - 옵션</span>을 선택합니다.</p>
<p id="par_id3">Same text</p><p id="par_id4">첫 줄<br>둘째 줄</p><p id="par_id5">비어 있음</p>
<p id="par_id7">셀 텍스트</p></body></html>
H
if $PY "$S" "$T/pairs_out" --debs "$T/debs" >"$T/log" 2>&1; then
    cat >"$T/want" <<'W'
Load & Save	불러오기 및 저장
Choose Tools - Options.	도구 - 옵션을 선택합니다.
Line one line two	첫 줄 둘째 줄
cell text	셀 텍스트
W
    if cmp -s "$T/pairs_out/pairs.tsv" "$T/want"; then pass ko_en_pairs_by_id; else fail ko_en_pairs_by_id "$(diff "$T/want" "$T/pairs_out/pairs.tsv")"; fi
    check ko_en_jsonl $PY -c "import json,sys; l=[json.loads(x) for x in open(sys.argv[1])]; assert len(l)==4 and l[0]=={'src':'Load & Save','tgt':'불러오기 및 저장','id':'shared/a.html#hd_id1'}, l" "$T/pairs_out/pairs.jsonl"
    check ko_en_splits test "$(cat "$T/pairs_out/train.jsonl" "$T/pairs_out/val.jsonl" "$T/pairs_out/test.jsonl" | wc -l)" = 4
else
    fail ko_en_pairs_by_id "$(tail -n 5 "$T/log")"
fi
expect_error ko_en_usage 'usage: get_ko_en.py' $PY "$S" a b c d

# the real packages, when apt can fetch them
mkdir -p "$T/real"
if (cd "$T/real" && timeout 120 apt-get -o Acquire::http::Timeout=30 -o Acquire::Retries=1 download libreoffice-help-en-us libreoffice-help-ko >"$T/apt.log" 2>&1); then
    if $PY "$S" "$T/ko_en" --debs "$T/real" >"$T/log" 2>&1; then
        n=$(wc -l <"$T/ko_en/pairs.jsonl")
        if [ "$n" -gt 25000 ] && [ "$n" -lt 32000 ]; then pass "ko_en_real ($n pairs)"; else fail ko_en_real "$n pairs"; fi
        check ko_en_real_disjoint_splits $PY -c "
import json,sys
tr={json.loads(l)['src'] for l in open(sys.argv[1])}
assert not any(json.loads(l)['src'] in tr for f in sys.argv[2:] for l in open(f))" "$T/ko_en/train.jsonl" "$T/ko_en/val.jsonl" "$T/ko_en/test.jsonl"
        check ko_en_real_korean $PY -c "
import json,sys
l=[json.loads(x) for x in open(sys.argv[1])]
assert sum(any('\uac00'<=c<='\ud7a3' for c in p['tgt']) for p in l) > 0.9*len(l)" "$T/ko_en/pairs.jsonl"
    else
        fail ko_en_real "$(tail -n 5 "$T/log")"
    fi
else
    echo "(apt-get download failed, the real packages are not checked: $(tail -n 1 "$T/apt.log"))"
fi
rm -rf "$T"
