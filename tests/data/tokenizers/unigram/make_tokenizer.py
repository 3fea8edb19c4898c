#!/usr/bin/env python3
"""Writes tokenizer.json here: a small T5-style Unigram tokenizer (SentencePiece's
precompiled normalization rules, runs of spaces as one, Metaspace, </s> after the text).
The rules are serialized as SentencePiece does (a Darts double-array trie and its strings),
so Hugging Face `tokenizers` reads the same bytes vkllm reads; generate.mjs then records
what it makes of them. Run once when the vocabulary or the rules change."""
import base64
import json
import struct
from pathlib import Path

SPACE = "\u2581"

# Normalization rules: one grapheme each (Hugging Face applies them per grapheme).
RULES = {
    "\uff46": "f",       # fullwidth f
    "\uff21": "A",       # fullwidth A
    "\u2460": "1",       # circled one
    "\u2461": "2",
    "\ufb01": "fi",      # ligature
    "\u00a0": " ",       # no-break space
    "\u3000": " ",       # ideographic space
    "\u2003": " ",       # em space
    "\t": " ",
    "e\u0301": "\u00e9",  # e + combining acute: composed
}

PIECES = {
    SPACE: -2.5, "\u2581the": -3.0, "\u2581a": -3.5, "\u2581t": -5.0, "h": -5.5, "e": -4.5, "\u2581hello": -6.0,
    "\u2581hell": -7.0, "o": -4.8, "\u2581he": -6.5, "llo": -7.5, "l": -5.2, "\u2581world": -6.2, "\u2581wor": -8.0,
    "ld": -7.0, "d": -5.5, "r": -5.0, "w": -5.6, "\u2581w": -6.0, "\u2581f": -6.0, "f": -5.8, "i": -5.0, "fi": -7.0,
    "\u2581fi": -6.5, "\u2581fine": -6.8, "n": -5.0, "\u2581n": -6.1, "\u25811": -6.0, "1": -5.9, "2": -5.9, "3": -6.0,
    "12": -7.0, "\u2581caf\u00e9": -8.0, "\u00e9": -6.5, "\u2581caf": -9.0, "c": -5.5, "a": -4.9, "\u2581c": -6.0,
    "t": -4.7, ".": -3.2, ",": -3.4, "s": -4.4, "\u2581s": -5.0, "\u2581is": -5.5, "\u2581it": -5.6, "\u2581in": -5.4,
    "g": -5.9, "ing": -6.0, "\u2581sing": -8.0, "\u2581k": -6.5, "k": -6.3, "x": -7.5, "y": -6.0, "p": -5.8, "u": -5.6,
    "m": -5.5, "\u2581m": -6.0, "\u2581un": -6.5, "b": -6.0, "v": -6.5, "\u2581T": -6.0, "T": -6.5, "H": -7.0,
    "\u2581H": -6.5, "A": -6.4, "'": -6.0, "!": -5.5, "?": -5.5, "\u2581spaces": -7.2, "pace": -7.4, "\u2581tab": -7.6,
    "\u2581line": -7.0, "\u2581two": -7.1, "\u2581one": -7.0, "0": -6.2, "9": -6.3, "\u4e16": -8.0, "\u754c": -8.1,
}


def darts(keys):
    """SentencePiece's double array: units[pos] holds (offset << 10) | has_leaf << 8 | label;
    a node's children sit at pos ^ offset ^ label, its value unit at pos ^ offset."""
    root = {}
    for key, value in keys.items():
        node = root
        for b in key:
            node = node.setdefault(b, {})
        node[None] = value
    units, used, bases = [0] * 4096, [False] * 4096, set()
    used[0] = True
    queue = [(root, 0, 0)]
    while queue:
        node, pos, label = queue.pop(0)
        labels = sorted(k for k in node if k is not None)
        leaf = None in node
        slots = labels + ([0] if leaf else [])
        base = 1
        # A unit is recognized by its label alone, so no two nodes may share a base.
        while base in bases or any(used[base ^ s] or (base ^ s) == 0 for s in slots):
            base += 1
        bases.add(base)
        offset = pos ^ base
        assert offset < (1 << 21)
        units[pos] = (offset << 10) | (int(leaf) << 8) | label
        for s in slots:
            used[base ^ s] = True
        if leaf:
            units[base] = node[None] | (1 << 31)
        queue.extend((node[b], base ^ b, b) for b in labels)
    # Whole blocks of 256, as Darts builds them: a lookup's pos ^ byte stays inside the array.
    size = (max(i for i, u in enumerate(used) if u) // 256 + 1) * 256
    return units[:size]


def charsmap(rules):
    strings, values = b"", {}
    for key, replacement in rules.items():
        values[key.encode()] = len(strings)
        strings += replacement.encode() + b"\0"
    units = darts(values)
    return struct.pack("<I", 4 * len(units)) + struct.pack(f"<{len(units)}I", *units) + strings


specials = ["<pad>", "</s>", "<unk>"]
vocab = [[s, 0.0] for s in specials] + [[p, s] for p, s in PIECES.items()]
metaspace = {"type": "Metaspace", "replacement": SPACE, "prepend_scheme": "always", "split": True}
tokenizer = {
    "version": "1.0",
    "truncation": None,
    "padding": None,
    "added_tokens": [{"id": i, "content": s, "single_word": False, "lstrip": False, "rstrip": False,
                      "normalized": False, "special": True} for i, s in enumerate(specials)],
    "normalizer": {"type": "Sequence", "normalizers": [
        {"type": "Precompiled", "precompiled_charsmap": base64.b64encode(charsmap(RULES)).decode()},
        {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "}]},
    "pre_tokenizer": metaspace,
    "post_processor": {"type": "TemplateProcessing",
                       "single": [{"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "</s>", "type_id": 0}}],
                       "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "</s>", "type_id": 0}},
                                {"Sequence": {"id": "B", "type_id": 0}}, {"SpecialToken": {"id": "</s>", "type_id": 0}}],
                       "special_tokens": {"</s>": {"id": "</s>", "ids": [1], "tokens": ["</s>"]}}},
    "decoder": metaspace,
    "model": {"type": "Unigram", "unk_id": 2, "vocab": vocab, "byte_fallback": False},
}
Path(__file__).with_name("tokenizer.json").write_text(json.dumps(tokenizer, ensure_ascii=False, indent=1) + "\n")
