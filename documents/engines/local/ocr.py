"""OCR with RapidOCR (PP-OCR models shipped inside the rapidocr-onnxruntime wheel).

The model is loaded on first use, once per process, and guarded by a lock: ONNX Runtime sessions
are not documented as safe to share across threads. Orientation is settled before recognition:
tall text boxes mean the page lies on its side, and the bundled 0/180 classifier votes on whether
the result stands upside down (pictures on a born-digital page are taken to stand upright).

Where the time goes (one core): the recognizer costs about 60 microseconds per pixel column of a
48-pixel-high line crop, roughly 10 ms per word, whatever the resolution the crop came from;
detection costs in proportion to the pixels it sees. So detection runs on a copy scaled down to
`DET_MAX_SIDE` (text lines stay well above the detector's few-pixel floor), line crops are cut
from the full-resolution image (word spaces survive), and lines are recognized one at a time:
padded batches of six run 1.6x (one thread) to 5x (two threads) slower per line on long lines,
and batches of lines sorted by width are still 1.5x slower on one core.

Pictures inside born-digital pages are read on a budget (`PictureBudget`), so a document of
pictures of text still converts in about the time of its text layer; see `read_picture`.
"""

from __future__ import annotations

import hashlib
import os
import threading
from dataclasses import dataclass, field

import cv2
import numpy as np
import onnxruntime

from .geometry import Word

MIN_SCORE = 0.5
UPSIDE_DOWN_SHARE = 0.6
SIDEWAYS_SHARE = 0.5
MAX_SIDE = 4000
DET_MAX_SIDE = 960
DET_MIN_SIDE = 96
DET_MULTIPLE = 32
FIGURE_DET_MAX_SIDE = 480
FIGURE_MIN_TEXT_SHARE = 0.1
PAPER_MIN_SHARE = 0.5
PAPER_TONE_RANGE = 16
REC_HEIGHT = 48
LARGER_TYPE = 1.3
READS_WELL = 0.9
# Detection costs about as much as recognizing one column per this many pixels it sees.
DET_PIXELS_PER_COLUMN = 190

# Letters the bundled model writes for Latin letters its alphabet lacks: the base letter of an
# accented one (o for ö and ø, a for å), and B or s for ß. Others it confuses among themselves
# in plain English (f, l, I, i, t) say nothing about diacritics.
STAND_INS = frozenset("aeouycnszrgdAEOUYCNSZB")

_engine = None
_engine_lock = threading.Lock()
# Held from decoding or rendering a picture for OCR until it is read: conversions running at once
# in a process would otherwise each hold a picture (up to MAX_RENDER_PIXELS × 3 bytes) while the
# engine, one at a time, reads another.
one_picture_at_a_time = threading.Lock()
ENGINE_NAME = "rapidocr-onnxruntime-1.4.4"


@dataclass
class OcrLine:
    """A line of text and the confidence (0-1) of the recognizer that read it (`by`); `doubt` is
    the bundled model's lowest confidence among the letters it writes for letters with
    diacritics that its alphabet lacks (o for ø, B for ß), 1 when the line has none."""

    text: str
    x0: float
    top: float
    x1: float
    bottom: float
    score: float
    doubt: float = 1.0
    by: str = "bundled"


def _threads() -> int:
    """One inference thread per core this process may run on (ONNX Runtime counts all cores)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _load_engine():
    global _engine
    if _engine is None:
        from rapidocr_onnxruntime import RapidOCR

        threads = _threads()
        engine = RapidOCR(
            intra_op_num_threads=threads,
            inter_op_num_threads=1,
            rec_batch_num=1,
        )
        for model in (engine.text_det.infer, engine.text_cls.infer, engine.text_rec.session):
            model.session = _ArenaSession(model.session._model_path, threads)
        _engine = engine
    return _engine


class _ArenaSession(onnxruntime.InferenceSession):
    """A model in a session that takes its working memory from an arena for the length of each
    run and gives it back when the run ends.

    RapidOCR's own sessions take every intermediate tensor from the C heap, and glibc serves
    blocks from 1 MiB up from mappings of their own (`limits.configure_process`): each of the
    hundreds of tensors a run makes cost an mmap, page faults and a munmap, some 0.3 s of system
    time for every line recognized, twice the recognition itself. The arena maps its memory
    once a run, and shrinking it after the run keeps a worker from holding its peak.
    """

    def __init__(self, path: str, threads: int):
        options = onnxruntime.SessionOptions()
        options.enable_cpu_mem_arena = True
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 4
        super().__init__(path, options, providers=["CPUExecutionProvider"])
        self.per_run = onnxruntime.RunOptions()
        self.per_run.add_run_config_entry("memory.enable_memory_arena_shrinkage", "cpu:0")

    def run(self, output_names, input_feed, run_options=None):
        return super().run(output_names, input_feed, run_options or self.per_run)


def recognize(image: np.ndarray, second=None) -> tuple[list[OcrLine], tuple[int, int]]:
    """Text lines of a BGR image and the (height, width) of the upright image they refer to.

    `second` (a `second.SecondReader`) reads again, once the image stands upright, the blocks
    the bundled model could not read well.
    """
    image = _limit_size(image)
    with _engine_lock:
        engine = _load_engine()
        boxes = _detect(engine, image)
        if boxes is None:
            return [], image.shape[:2]
        if _sideways_share(boxes) > SIDEWAYS_SHARE:
            image = cv2.rotate(image, cv2.ROTATE_90_CLOCKWISE)
            boxes = _detect(engine, image)
            if boxes is None:
                return [], image.shape[:2]
        as_found = engine.get_crop_img_list(image, boxes)
        crops, labels, _ = engine.text_cls(list(as_found))
        if _upside_down_share(labels) > UPSIDE_DOWN_SHARE and (
            second is None
            or _reads_well_turned(engine, as_found)
            or second.upside_down(image) is not False
        ):
            image = cv2.rotate(image, cv2.ROTATE_180)
            boxes = _detect(engine, image)
            if boxes is None:
                return [], image.shape[:2]
            crops, _, _ = engine.text_cls(engine.get_crop_img_list(image, boxes))
        results, _ = engine.text_rec(crops, True)
    lines = [
        _line(box, text, score, details)
        for box, (text, score, details) in zip(boxes, results, strict=False)
    ]
    if second is not None and lines:
        lines = second.improve(image, lines)
    kept = [
        line for line in lines if line.text and (line.by != "bundled" or line.score >= MIN_SCORE)
    ]
    return kept, image.shape[:2]


@dataclass
class PictureBudget:
    """The recognizer work one document may spend on the pictures inside its born-digital pages,
    in recognizer columns: the width of a line crop scaled to the model's 48-pixel height, which
    recognition costs in proportion to (detection is charged DET_PIXELS_PER_COLUMN pixels a
    column). `seen` holds what pictures already read returned (a letterhead on every page)."""

    columns: float
    seen: dict[bytes, list[OcrLine]] = field(default_factory=dict)


def read_picture(image: np.ndarray, budget: PictureBudget | None) -> list[OcrLine]:
    """Text lines of a picture on a born-digital page (upright), read within `budget` (all of
    them, found as on a scanned page, without one).

    Text is found on a copy `FIGURE_DET_MAX_SIDE` across (type in pictures of text stays above
    the detector's floor there, at a quarter of the cost of a page-sized copy); a picture whose
    text covers less than `FIGURE_MIN_TEXT_SHARE` of it is left alone (pictures of text run at
    40-60 %, a labelled diagram at about 3 %). Lines in larger type are recognized first, then
    the others top down, while the budget lasts; a picture seen before in the document costs
    nothing, and neither does a photograph (see `_one_tone_share`).
    """
    image = _limit_size(image)
    scaled = _scaled(image, DET_MAX_SIDE if budget is None else FIGURE_DET_MAX_SIDE)
    key = hashlib.blake2b(repr(scaled.shape).encode() + scaled.tobytes(), digest_size=16).digest()
    if budget is None:
        budget = PictureBudget(float("inf"))
    elif key not in budget.seen and _one_tone_share(scaled) < PAPER_MIN_SHARE:
        budget.seen[key] = []
    if key in budget.seen:
        return budget.seen[key]
    if budget.columns <= 0:
        return []
    lines: list[OcrLine] = []
    with _engine_lock:
        engine = _load_engine()
        budget.columns -= scaled.shape[0] * scaled.shape[1] / DET_PIXELS_PER_COLUMN
        boxes = _detect(engine, image, scaled)
        if boxes is not None and _sideways_share(boxes) > SIDEWAYS_SHARE:
            image = cv2.rotate(image, cv2.ROTATE_90_CLOCKWISE)
            boxes = _detect(engine, image)
        if boxes is not None and _text_share(boxes, image.shape[:2]) >= FIGURE_MIN_TEXT_SHARE:
            for index in _larger_type_first(boxes):
                if budget.columns <= 0:
                    break
                [crop] = engine.get_crop_img_list(image, [boxes[index]])  # only lines read
                budget.columns -= crop.shape[1] * REC_HEIGHT / max(crop.shape[0], 1)
                (text, score, details), *_ = engine.text_rec([crop], True)[0]
                if score >= MIN_SCORE and text.strip():
                    lines.append(_line(boxes[index], text, score, details))
    budget.seen[key] = lines
    return lines


def _one_tone_share(image: np.ndarray) -> float:
    """Share of the pixels within `PAPER_TONE_RANGE` grey levels of the most common one.

    Text is set on a ground of one tone (paper, a banner, a dark screen): the pictures of text
    in federal-register measure 0.75-0.84 on the detector's copy, while a photograph or a shaded
    rendering has no such ground (0.37 for GeoTopo's shaded sphere with a few letters on it).
    Telling them apart costs a histogram, against the detector's 50-100 ms finding no text.
    """
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    counts = np.bincount(grey.ravel(), minlength=256)
    tone = int(counts.argmax())
    near = counts[max(tone - PAPER_TONE_RANGE, 0) : tone + PAPER_TONE_RANGE + 1].sum()
    return float(near) / grey.size


def _larger_type_first(boxes) -> list[int]:
    """Line indices in reading priority: lines in clearly larger type than most (titles,
    headings) first, then every line from the top down, as a reader meets them."""
    heights = [float(box[:, 1].max() - box[:, 1].min()) for box in boxes]
    typical = float(np.median(heights))
    return sorted(
        range(len(boxes)),
        key=lambda i: (heights[i] < LARGER_TYPE * typical, float(boxes[i][:, 1].min())),
    )


def _line(box, text: str, score: float, details) -> OcrLine:
    return OcrLine(
        text.strip(),
        float(box[:, 0].min()),
        float(box[:, 1].min()),
        float(box[:, 0].max()),
        float(box[:, 1].max()),
        float(score),
        _doubt(text, details[-1]),
    )


def _reads_well_turned(engine, crops) -> bool:
    """Whether the bundled model reads the page's widest line turned upside down with
    confidence: then the page stands upside down in a script the model knows, and the
    classifier's vote can be trusted without asking Tesseract (half a second, whatever the
    page); Hebrew, which the classifier takes for Latin upside down, reads no better turned."""
    widest = max(crops, key=lambda crop: crop.shape[1] / max(crop.shape[0], 1))
    [(_text, score)], _ = engine.text_rec([cv2.rotate(widest, cv2.ROTATE_180)], False)
    return score >= READS_WELL


def _doubt(text: str, confidences: list[float]) -> float:
    if len(confidences) != len(text):
        return 1.0
    found = [p for ch, p in zip(text, confidences, strict=True) if ch in STAND_INS]
    return float(min(found, default=1.0))


def _limit_size(image: np.ndarray) -> np.ndarray:
    height, width = image.shape[:2]
    longest = max(height, width)
    if longest <= MAX_SIDE:
        return image
    ratio = MAX_SIDE / longest
    size = (max(1, int(width * ratio)), max(1, int(height * ratio)))  # a sliver stays a pixel
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def _scaled(image: np.ndarray, max_side: int) -> np.ndarray:
    """The image as the detector sees it: at most `max_side`, sides a multiple of 32."""
    height, width = image.shape[:2]
    ratio = min(1.0, max_side / max(height, width))
    if min(height, width) * ratio < DET_MIN_SIDE:
        ratio = min(DET_MIN_SIDE / min(height, width), 4.0)
    size = [
        max(DET_MULTIPLE, int(round(side * ratio / DET_MULTIPLE)) * DET_MULTIPLE)
        for side in (width, height)
    ]
    interpolation = cv2.INTER_AREA if ratio < 1 else cv2.INTER_LINEAR
    return cv2.resize(image, size, interpolation=interpolation)


def _detect(engine, image: np.ndarray, scaled: np.ndarray | None = None):
    """Text boxes in full-resolution coordinates, found on a scaled-down copy (`scaled`, or one
    at most DET_MAX_SIDE)."""
    detector = engine.text_det
    shape = image.shape[:2]
    if scaled is None:
        scaled = _scaled(image, DET_MAX_SIDE)
    normalized = scaled.astype(np.float32) * np.float32(2 / 255) - np.float32(1)
    predictions = detector.infer(np.ascontiguousarray(normalized.transpose(2, 0, 1)[None]))[0]
    boxes, _ = detector.postprocess_op(predictions, shape)
    if boxes is None or len(boxes) == 0:
        return None
    boxes = detector.filter_tag_det_res(boxes, shape)
    if len(boxes) == 0:
        return None
    return engine.sorted_boxes(boxes)


def _text_share(boxes, shape: tuple[int, int]) -> float:
    area = sum(
        float(np.linalg.norm(box[0] - box[1]) * np.linalg.norm(box[0] - box[3])) for box in boxes
    )
    return area / max(shape[0] * shape[1], 1)


def _sideways_share(boxes) -> float:
    """Share of detected text (by area) in boxes taller than wide: a page turned on its side."""
    tall = total = 0.0
    for box in boxes:
        width = float(np.linalg.norm(box[0] - box[1]))
        height = float(np.linalg.norm(box[0] - box[3]))
        area = width * height
        total += area
        if height > 1.5 * width:
            tall += area
    return tall / total if total else 0.0


def _upside_down_share(labels) -> float:
    if not labels:
        return 0.0
    flipped = sum(1 for label, score in labels if label == "180" and score > 0.7)
    return flipped / len(labels)


def words_from_lines(lines: list[OcrLine], scale: float) -> list[Word]:
    """OCR lines as layout words; one size for ordinary lines so headings need really big type."""
    if not lines:
        return []
    heights = sorted(line.bottom - line.top for line in lines)
    typical = heights[len(heights) // 2]
    words = []
    for line in lines:
        height = line.bottom - line.top
        size = height if height > 1.6 * typical else typical
        words.append(
            Word(
                line.text,
                line.x0 / scale,
                line.top / scale,
                line.x1 / scale,
                line.bottom / scale,
                size * 0.7 / scale,
            )
        )
    return words
