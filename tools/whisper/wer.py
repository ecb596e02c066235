"""tools/whisper/wer.py — the word error rate used for every Whisper comparison in Bora (stdlib only).

Normalizer (applied to hypothesis and reference alike):
  1. lowercase; "%" -> " percent", "&" -> " and "
  2. apostrophes removed inside words ("don't" -> "dont"); every other character that is not a
     letter or digit becomes a space (punctuation, hyphens)
  3. numbers as words: each digit run is spelled out ("10" -> "ten", "25" -> "twenty five",
     "1999" -> "one thousand nine hundred ninety nine"); ordinals are left as words
  4. split on whitespace; the pocketsphinx markers <s>, </s> and "(utt-id)" are stripped first.
WER = (substitutions + deletions + insertions) / reference words (Levenshtein on words), reported
over a corpus as sum(edits) / sum(reference words).
"""

import re

_ONES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
         "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"]
_TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]


def number_words(n):
    """Non-negative int -> English words without 'and' ("one hundred five")."""
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + ("" if n % 10 == 0 else " " + _ONES[n % 10])
    for size, word in ((10 ** 9, "billion"), (10 ** 6, "million"), (1000, "thousand"), (100, "hundred")):
        if n >= size:
            head = number_words(n // size) + " " + word
            return head if n % size == 0 else head + " " + number_words(n % size)
    raise AssertionError(n)


def normalize(text):
    """The word list WER compares (see the module docstring)."""
    t = re.sub(r"</?s>", " ", text)
    t = re.sub(r"\([^)]*\)\s*$", " ", t)  # pocketsphinx "(001)" utterance ids
    t = t.lower().replace("%", " percent").replace("&", " and ")
    t = re.sub(r"(?<=\w)['’](?=\w)", "", t)
    t = re.sub(r"(?<=\d),(?=\d{3})", "", t)  # 1,000 -> 1000
    t = re.sub(r"\d+", lambda m: " " + number_words(int(m.group())) + " ", t)
    t = re.sub(r"[^a-z0-9]+", " ", t)
    return t.split()


def edit_distance(ref, hyp):
    prev = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        cur = [i] + [0] * len(hyp)
        for j, h in enumerate(hyp, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (r != h))
        prev = cur
    return prev[-1]


def wer(pairs):
    """pairs: iterable of (reference text, hypothesis text). Returns (wer, edits, reference words)."""
    edits = words = 0
    for ref, hyp in pairs:
        r, h = normalize(ref), normalize(hyp)
        edits += edit_distance(r, h)
        words += len(r)
    return (edits / words if words else 0.0), edits, words


if __name__ == "__main__":
    assert normalize("<s> ten of clubs </s> (001)") == ["ten", "of", "clubs"]
    assert normalize(" Go forward 10 meters.") == ["go", "forward", "ten", "meters"]
    assert normalize("It's 25%!") == ["its", "twenty", "five", "percent"]
    assert wer([("a b c", "a x c d")])[1] == 2
    print("wer.py self-test OK")
