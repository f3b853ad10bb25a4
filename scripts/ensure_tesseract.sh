#!/usr/bin/env bash
# Installs Tesseract, the language packs and the fonts the script tests use
# (tests/documents/engines/test_scripts.py) from Debian's packages. Does nothing when they are all
# present; when they cannot be installed (no apt-get, not root and no sudo) it says so and exits
# 0, and those tests skip with that reason. Ilios itself runs without Tesseract.
set -euo pipefail
languages=(eng osd heb ell grc hin deu fra dan)
fonts=(/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf
  /usr/share/fonts/truetype/lohit-devanagari/Lohit-Devanagari.ttf)
missing=()
installed="$(tesseract --list-langs 2>/dev/null || true)"
command -v tesseract >/dev/null || missing+=(tesseract-ocr)
for language in "${languages[@]}"; do
  grep -qx "$language" <<<"$installed" || missing+=("tesseract-ocr-$language")
done
[ -f "${fonts[0]}" ] || missing+=(fonts-dejavu-core)
[ -f "${fonts[1]}" ] || missing+=(fonts-lohit-deva)
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
if ! command -v apt-get >/dev/null; then
  echo "ensure_tesseract: no apt-get here; install ${missing[*]} yourself" >&2
  exit 0
fi
if [ "$(id -u)" -eq 0 ]; then
  sudo=()
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
  sudo=(sudo -n)
else
  echo "ensure_tesseract: not root and no sudo; the script tests will be skipped" >&2
  exit 0
fi
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends \
  "${missing[@]}"
