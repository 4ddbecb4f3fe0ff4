"""Setting each certificate's own text directly as PDF drawing operators, with a font subset per document.

A full HTML layout costs about a hundred milliseconds a certificate, most of it for text that never changes.
The certificate's variable part is a fixed grid (see ``render.py``), so it is set here: glyphs looked up in
the embedded fonts (Japanese first, Latin fallback), lines broken greedily at spaces and between Japanese
characters, and the fonts subset with HarfBuzz to exactly the glyphs the document uses. Codes in the content
stream are the fonts' original glyph ids, which the CFF charset (Noto CJK) or a CIDToGIDMap (TrueType) maps
to the subset, and a ToUnicode CMap maps back to the text, so copying the name out of the PDF gives the name.
"""

from __future__ import annotations

import hashlib
import string
import unicodedata
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import cffi  # type: ignore[import-untyped]
import pikepdf
from fontTools.ttLib import TTFont  # type: ignore[import-untyped]

from cme_tracker.fonts import EmbeddedFont

MM = 72 / 25.4
"""PDF points per millimetre: layouts are written in millimetres from the top left corner of the sheet."""
PAGE_HEIGHT = 297 * MM

_HB_CDEF = """
typedef struct hb_blob_t hb_blob_t;
typedef struct hb_face_t hb_face_t;
typedef struct hb_set_t hb_set_t;
typedef struct hb_map_t hb_map_t;
typedef struct hb_subset_input_t hb_subset_input_t;
typedef struct hb_subset_plan_t hb_subset_plan_t;
hb_blob_t *hb_blob_create_from_file(const char *file_name);
void hb_blob_destroy(hb_blob_t *blob);
const char *hb_blob_get_data(hb_blob_t *blob, unsigned int *length);
hb_face_t *hb_face_create(hb_blob_t *blob, unsigned int index);
void hb_face_destroy(hb_face_t *face);
hb_blob_t *hb_face_reference_blob(hb_face_t *face);
void hb_set_add(hb_set_t *set, uint32_t codepoint);
uint32_t hb_map_get(const hb_map_t *map, uint32_t key);
hb_subset_input_t *hb_subset_input_create_or_fail(void);
void hb_subset_input_destroy(hb_subset_input_t *input);
hb_set_t *hb_subset_input_glyph_set(hb_subset_input_t *input);
hb_set_t *hb_subset_input_set(hb_subset_input_t *input, int set_type);
void hb_subset_input_set_flags(hb_subset_input_t *input, unsigned value);
hb_subset_plan_t *hb_subset_plan_create_or_fail(hb_face_t *face, const hb_subset_input_t *input);
void hb_subset_plan_destroy(hb_subset_plan_t *plan);
const hb_map_t *hb_subset_plan_old_to_new_glyph_mapping(const hb_subset_plan_t *plan);
hb_face_t *hb_subset_plan_execute_or_fail(hb_subset_plan_t *plan);
"""
_HB_SETS_DROP_TABLE_TAG = 3
_HB_FLAGS_NO_HINTING = 0x1
_HB_FLAGS_DESUBROUTINIZE = 0x4
_DROPPED_TABLES = (b"GSUB", b"GPOS", b"GDEF", b"BASE", b"JSTF", b"DSIG", b"VORG", b"vhea", b"vmtx", b"kern")
"""Lookups and vertical metrics: the text is set here, so the subset needs outlines and cmap only."""

_NO_LINE_START = set("、。，．,.)）」』】〕〉》・：；:;!?！？ーぁぃぅぇぉっゃゅょァィゥェォッャュョ々")
_NO_LINE_END = set("(（「『【〔〈《")


class _HarfBuzz:
    """The few HarfBuzz-subset calls the per-document subsets need, loaded on first use."""

    def __init__(self) -> None:
        self.ffi = cffi.FFI()
        self.ffi.cdef(_HB_CDEF)
        self.hb: Any = self.ffi.dlopen("libharfbuzz.so.0")
        self.subset: Any = self.ffi.dlopen("libharfbuzz-subset.so.0")


_harfbuzz: _HarfBuzz | None = None


def harfbuzz() -> _HarfBuzz:
    global _harfbuzz
    if _harfbuzz is None:
        _harfbuzz = _HarfBuzz()
    return _harfbuzz


class Face:
    """One font, loaded once per process: its cmap and advances for setting, its HarfBuzz face for subsets."""

    def __init__(self, font: EmbeddedFont) -> None:
        self.font = font
        with TTFont(font.path, fontNumber=font.index, lazy=True) as tt:
            order = tt.getGlyphOrder()
            gid_of = {name: gid for gid, name in enumerate(order)}
            self.cmap = {code: gid_of[name] for code, name in tt.getBestCmap().items()}
            metrics = tt["hmtx"].metrics
            self.advances = [metrics[name][0] for name in order]
            self.upem: int = tt["head"].unitsPerEm
            head, hhea = tt["head"], tt["hhea"]
            self.bbox = [head.xMin, head.yMin, head.xMax, head.yMax]
            self.ascent, self.descent = hhea.ascent, hhea.descent
            self.cff = "CFF " in tt
        lib = harfbuzz()
        blob = lib.hb.hb_blob_create_from_file(str(font.path).encode())
        self._hb_face = lib.ffi.gc(lib.hb.hb_face_create(blob, font.index), lib.hb.hb_face_destroy)
        lib.hb.hb_blob_destroy(blob)

    def subset(self, gids: Sequence[int]) -> tuple[bytes, dict[int, int]]:
        """The font file holding only ``gids`` (and .notdef), and each original glyph id's id in it."""
        lib = harfbuzz()
        hb, sub, ffi = lib.hb, lib.subset, lib.ffi
        request = ffi.gc(sub.hb_subset_input_create_or_fail(), sub.hb_subset_input_destroy)
        glyphs = sub.hb_subset_input_glyph_set(request)
        for gid in gids:
            hb.hb_set_add(glyphs, gid)
        dropped = sub.hb_subset_input_set(request, _HB_SETS_DROP_TABLE_TAG)
        for tag in _DROPPED_TABLES:
            hb.hb_set_add(dropped, int.from_bytes(tag, "big"))
        sub.hb_subset_input_set_flags(request, _HB_FLAGS_NO_HINTING | _HB_FLAGS_DESUBROUTINIZE)
        plan = ffi.gc(sub.hb_subset_plan_create_or_fail(self._hb_face, request), sub.hb_subset_plan_destroy)
        if plan == ffi.NULL:
            raise RuntimeError(f"HarfBuzz could not subset {self.font.postscript_name}")
        mapping = sub.hb_subset_plan_old_to_new_glyph_mapping(plan)
        new_ids = {gid: int(hb.hb_map_get(mapping, gid)) for gid in gids}
        face = ffi.gc(sub.hb_subset_plan_execute_or_fail(plan), hb.hb_face_destroy)
        blob = hb.hb_face_reference_blob(face)
        length = ffi.new("unsigned int *")
        data = bytes(ffi.buffer(hb.hb_blob_get_data(blob, length), length[0]))
        hb.hb_blob_destroy(blob)
        return (_identity_charset(data, len(set(new_ids.values()) | {0})) if self.cff else data), new_ids


@dataclass(frozen=True)
class Style:
    size: float
    """Points."""
    color: tuple[float, float, float] = (0.11, 0.137, 0.169)
    leading: float = 1.3
    tracking: float = 0.0
    """Extra space after each character, in ems."""

    @property
    def line_height(self) -> float:
        """Millimetres from one baseline to the next."""
        return self.size * self.leading / MM


@dataclass(frozen=True)
class GlyphRun:
    """Glyphs of one face, by their ids in the full font, waiting for their ids in the document's subset."""

    face: int
    gids: tuple[int, ...]


Operators = bytes | GlyphRun


@dataclass
class _Glyphs:
    face: int
    gids: list[int]
    text: list[str]


class FontStack:
    """The faces in fallback order, and each character's face, glyph and advance, looked up once a process."""

    def __init__(self, faces: Sequence[Face]) -> None:
        self.faces = tuple(faces)
        self._glyphs: dict[str, tuple[int, int, float]] = {}

    def glyph(self, char: str) -> tuple[int, int, float]:
        """Face index, glyph id and advance in ems, from the first face that has it."""
        found = self._glyphs.get(char)
        if found is None:
            code = ord(char)
            face = next((i for i, face in enumerate(self.faces) if code in face.cmap), 0)
            gid = self.faces[face].cmap.get(code, 0)
            found = self._glyphs[char] = (face, gid, self.faces[face].advances[gid] / self.faces[face].upem)
        return found


@dataclass
class Typesetter:
    """Sets one document's text, remembering every glyph used for the document's font subsets."""

    fonts: FontStack
    used: list[dict[int, str]] = field(init=False)
    """Per face, each glyph shown and the character it shows (for the ToUnicode CMap)."""
    _new_ids: dict[int, dict[int, int]] = field(init=False, default_factory=dict)
    _broken: dict[tuple[str, float, Style], list[str]] = field(init=False, default_factory=dict)
    """Lines already broken: layouts measure a row before drawing it."""

    def __post_init__(self) -> None:
        self.used = [{} for _ in self.fonts.faces]

    def runs(self, text: str) -> list[_Glyphs]:
        """``text`` as runs of glyphs of one face each."""
        runs: list[_Glyphs] = []
        for char in unicodedata.normalize("NFC", text):
            if 0xFE00 <= ord(char) <= 0xFE0F or 0xE0100 <= ord(char) <= 0xE01EF:
                continue  # variation selectors: the font draws the base character
            face, gid, _ = self.fonts.glyph(char)
            if not runs or runs[-1].face != face:
                runs.append(_Glyphs(face, [], []))
            runs[-1].gids.append(gid)
            runs[-1].text.append(char)
        return runs

    def width(self, text: str, style: Style) -> float:
        """Millimetres."""
        ems = sum(self.fonts.glyph(char)[2] + style.tracking for char in text)
        return ems * style.size / MM

    def lines(self, text: str, width: float, style: Style) -> list[str]:
        """``text`` broken into lines of at most ``width`` mm: at spaces, between Japanese characters
        (keeping closing punctuation off a line's start), and anywhere in a word longer than a line."""
        key = (text, width, style)
        broken = self._broken.get(key)
        if broken is None:
            broken = self._broken[key] = self._break(text, width, style)
        return list(broken)

    def _break(self, text: str, width: float, style: Style) -> list[str]:
        lines: list[str] = []
        current, current_width = "", 0.0
        for piece in _break_pieces(unicodedata.normalize("NFC", text)):
            piece_width = self.width(piece, style)
            if not current or current_width + self.width(piece.rstrip(), style) <= width:
                current, current_width = current + piece, current_width + piece_width
                continue
            lines.append(current.rstrip())
            current = piece.lstrip()
            current_width = self.width(current, style)
        if current.strip():
            lines.append(current.rstrip())
        return [part for line in lines for part in self._split_long(line, width, style)]

    def _split_long(self, line: str, width: float, style: Style) -> Iterator[str]:
        while self.width(line, style) > width and len(line) > 1:
            cut, cut_width = 0, 0.0
            while cut < len(line) - 1:
                char_width = self.width(line[cut], style)
                if cut and cut_width + char_width > width:
                    break
                cut, cut_width = cut + 1, cut_width + char_width
            yield line[:cut]
            line = line[cut:]
        yield line

    def show(self, x: float, baseline: float, text: str, style: Style) -> list[Operators]:
        """Operators drawing ``text`` from (``x``, ``baseline``) in mm from the sheet's top left corner.

        The glyphs stay runs until :meth:`encode`: their codes are their ids in the document's subsets.
        """
        parts: list[Operators] = [b"BT %.3f %.3f %.3f rg " % style.color]
        tracking = style.tracking * style.size
        for run in self.runs(text):
            used = self.used[run.face]
            for gid, char in zip(run.gids, run.text, strict=True):
                used.setdefault(gid, char)
            parts.append(b"/CmeF%d %.2f Tf %.2f Tc " % (run.face, style.size, tracking))
            parts.append(b"1 0 0 1 %.3f %.3f Tm " % (x * MM, PAGE_HEIGHT - baseline * MM))
            parts.append(GlyphRun(run.face, tuple(run.gids)))
            x += self.width("".join(run.text), style)
        parts.append(b"ET\n")
        return parts

    def font_resources(self, pdf: pikepdf.Pdf) -> pikepdf.Dictionary:
        """The Type 0 fonts of this document, each a subset to the glyphs shown, for the page resources."""
        fonts = pikepdf.Dictionary()
        for index, (face, used) in enumerate(zip(self.fonts.faces, self.used, strict=True)):
            if used:
                font, self._new_ids[index] = _type0_font(pdf, face, used)
                fonts[f"/CmeF{index}"] = font
        return fonts

    def encode(self, operators: Sequence[Operators]) -> bytes:
        """A content stream, once :meth:`font_resources` has made the subsets that number the glyphs."""
        return b"".join(
            part
            if isinstance(part, bytes)
            else b"<%s> Tj " % "".join(f"{self._new_ids[part.face][gid]:04x}" for gid in part.gids).encode()
            for part in operators
        )


def _identity_charset(otf: bytes, glyphs: int) -> bytes:
    """The subset with CID n for glyph n: a CID-keyed CFF subset keeps each glyph's original CID in its
    charset, and viewers differ in whether they look glyphs up by CID or by glyph id. The identity charset
    (format 2, one range) is never longer than the one it replaces, so it is written in place."""
    font = bytearray(otf)
    tables = int.from_bytes(font[4:6], "big")
    for entry in range(12, 12 + 16 * tables, 16):
        if font[entry : entry + 4] == b"CFF ":
            start, length = (int.from_bytes(font[entry + k : entry + k + 4], "big") for k in (8, 12))
            break
    else:
        raise ValueError("the subset has no CFF table")
    cff = memoryview(font)[start : start + length]
    charset = start + _top_dict_operand(cff, 15)
    if glyphs > 1:
        font[charset : charset + 5] = bytes([2]) + (1).to_bytes(2, "big") + (glyphs - 2).to_bytes(2, "big")
    checksum_data = bytes(font[start : start + length]) + bytes(-length % 4)
    checksum = sum(int.from_bytes(checksum_data[k : k + 4], "big") for k in range(0, len(checksum_data), 4))
    font[entry + 4 : entry + 8] = (checksum & 0xFFFFFFFF).to_bytes(4, "big")
    return bytes(font)


def _top_dict_operand(cff: memoryview, operator: int) -> int:
    """The integer operand of ``operator`` in the Top DICT of a CFF table."""
    position = cff[2]  # header size
    position = _skip_index(cff, position)  # Name INDEX
    count, off_size = int.from_bytes(cff[position : position + 2], "big"), cff[position + 2]
    offsets = [
        int.from_bytes(cff[position + 3 + k * off_size : position + 3 + (k + 1) * off_size], "big")
        for k in range(count + 1)
    ]
    data = position + 3 + (count + 1) * off_size - 1
    top_dict, end = data + offsets[0], data + offsets[1]
    operands: list[int] = []
    while top_dict < end:
        byte = cff[top_dict]
        if byte <= 21:
            found = byte == operator
            top_dict += 2 if byte == 12 else 1
            if found:
                return operands[-1]
            operands = []
        elif byte == 28:
            operands.append(int.from_bytes(cff[top_dict + 1 : top_dict + 3], "big", signed=True))
            top_dict += 3
        elif byte == 29:
            operands.append(int.from_bytes(cff[top_dict + 1 : top_dict + 5], "big", signed=True))
            top_dict += 5
        elif byte == 30:  # a real number, up to the nibble 0xf
            top_dict += 1
            while cff[top_dict] & 0x0F != 0x0F and cff[top_dict] >> 4 != 0x0F:
                top_dict += 1
            top_dict += 1
            operands.append(0)
        elif byte <= 246:
            operands.append(byte - 139)
            top_dict += 1
        elif byte <= 250:
            operands.append((byte - 247) * 256 + cff[top_dict + 1] + 108)
            top_dict += 2
        else:
            operands.append(-(byte - 251) * 256 - cff[top_dict + 1] - 108)
            top_dict += 2
    raise ValueError(f"the CFF Top DICT has no operator {operator}")


def _skip_index(cff: memoryview, position: int) -> int:
    count = int.from_bytes(cff[position : position + 2], "big")
    if count == 0:
        return position + 2
    off_size = cff[position + 2]
    last = position + 3 + count * off_size
    return last + off_size - 1 + int.from_bytes(cff[last : last + off_size], "big")


def _break_pieces(text: str) -> Iterator[str]:
    """The pieces between which a line may break: words with their trailing space, single Japanese
    characters (with a following closing mark, or a preceding opening mark, kept on their line)."""
    piece = ""
    for char in text:
        breakable = piece and (_is_wide(char) or piece[-1] == " " or _is_wide(piece[-1]))
        if breakable and char not in _NO_LINE_START and piece[-1] not in _NO_LINE_END:
            yield piece
            piece = ""
        piece += char
    if piece:
        yield piece


def _is_wide(char: str) -> bool:
    return unicodedata.east_asian_width(char) in ("W", "F")


def _type0_font(pdf: pikepdf.Pdf, face: Face, used: dict[int, str]) -> tuple[pikepdf.Object, dict[int, int]]:
    """The font and the subset's id of each original glyph id: codes are CIDs, and CID = subset glyph id."""
    gids = sorted(used)
    data, new_ids = face.subset(gids)
    tag = "".join(
        string.ascii_uppercase[byte % 26] for byte in hashlib.sha256(repr(gids).encode()).digest()[:6]
    )
    name = pikepdf.Name(f"/{tag}+{face.font.postscript_name}")
    scale = 1000 / face.upem
    descriptor = pikepdf.Dictionary(
        Type=pikepdf.Name.FontDescriptor,
        FontName=name,
        Flags=4,
        FontBBox=[round(value * scale) for value in face.bbox],
        ItalicAngle=0,
        Ascent=round(face.ascent * scale),
        Descent=round(face.descent * scale),
        CapHeight=round(face.ascent * scale),
        StemV=80,
    )
    program = pikepdf.Stream(pdf, zlib.compress(data, 6))
    program.Filter = pikepdf.Name.FlateDecode
    if face.cff:
        program.Subtype = pikepdf.Name.OpenType
        descriptor.FontFile3 = pdf.make_indirect(program)
    else:
        program.Length1 = len(data)
        descriptor.FontFile2 = pdf.make_indirect(program)
    cid_font = pikepdf.Dictionary(
        Type=pikepdf.Name.Font,
        Subtype=pikepdf.Name.CIDFontType0 if face.cff else pikepdf.Name.CIDFontType2,
        BaseFont=name,
        CIDSystemInfo=pikepdf.Dictionary(Registry="Adobe", Ordering="Identity", Supplement=0),
        FontDescriptor=pdf.make_indirect(descriptor),
        W=_widths(face, new_ids, scale),
    )
    if not face.cff:
        cid_font.CIDToGIDMap = pikepdf.Name.Identity
    font = pdf.make_indirect(
        pikepdf.Dictionary(
            Type=pikepdf.Name.Font,
            Subtype=pikepdf.Name.Type0,
            BaseFont=name,
            Encoding=pikepdf.Name("/Identity-H"),
            DescendantFonts=[pdf.make_indirect(cid_font)],
            ToUnicode=_flate_stream(pdf, _to_unicode({new_ids[gid]: char for gid, char in used.items()})),
        )
    )
    return font, new_ids


def _widths(face: Face, new_ids: dict[int, int], scale: float) -> list[Any]:
    """The /W array, by CID (the subset's glyph id), in thousandths of an em."""
    widths: list[Any] = []
    for gid, cid in sorted(new_ids.items(), key=lambda item: item[1]):
        widths.extend((cid, [round(face.advances[gid] * scale)]))
    return widths


def _to_unicode(used: dict[int, str]) -> bytes:
    lines = [
        "/CIDInit /ProcSet findresource begin 12 dict begin begincmap",
        "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def",
        "/CMapName /Adobe-Identity-UCS def /CMapType 2 def",
        "1 begincodespacerange <0000> <ffff> endcodespacerange",
    ]
    items = sorted(used.items())
    for start in range(0, len(items), 100):
        batch = items[start : start + 100]
        lines.append(f"{len(batch)} beginbfchar")
        lines.extend(f"<{gid:04x}> <{char.encode('utf-16-be').hex()}>" for gid, char in batch)
        lines.append("endbfchar")
    lines.append("endcmap CMapName currentdict /CMap defineresource pop end end")
    return "\n".join(lines).encode()


def _flate_stream(pdf: pikepdf.Pdf, data: bytes) -> pikepdf.Object:
    stream = pikepdf.Stream(pdf, zlib.compress(data, 6))
    stream.Filter = pikepdf.Name.FlateDecode
    return pdf.make_indirect(stream)
