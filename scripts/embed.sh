#!/bin/sh
# embed.sh FILE NAME: writes FILE as the C array NAME[] (NUL-terminated) and NAME_len
# to stdout, so a file (the server's chat page) is built into the program.
set -e
echo "/* generated from $1 by scripts/embed.sh: do not edit */"
echo "#include <stddef.h>"
echo "const unsigned char $2[] = {"
od -An -v -tx1 "$1" | sed 's/\([0-9a-f][0-9a-f]\)/0x\1,/g'
echo "0};"
echo "const size_t ${2}_len = $(wc -c < "$1");"
