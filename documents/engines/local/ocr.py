"""OCR with RapidOCR (PP-OCR models shipped inside the rapidocr-onnxruntime wheel).

The model is loaded on first use, once per process, and guarded by a lock: ONNX Runtime sessions
are not documented as safe to share across threads, and one page at a time already keeps both
cores busy. Orientation is settled before recognition: tall text boxes mean the page lies on its
side, and the bundled 0/180 classifier votes on whether the result stands upside down.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import cv2
import numpy as np

from .geometry import Word

MIN_SCORE = 0.5
UPSIDE_DOWN_SHARE = 0.6
SIDEWAYS_SHARE = 0.5
MAX_SIDE = 4000

_engine = None
_engine_lock = threading.Lock()
ENGINE_NAME = "rapidocr-onnxruntime-1.4.4"


@dataclass
class OcrLine:
    text: str
    x0: float
    top: float
    x1: float
    bottom: float
    score: float


def _load_engine():
    global _engine
    if _engine is None:
        from rapidocr_onnxruntime import RapidOCR

        _engine = RapidOCR()
    return _engine


def recognize(image: np.ndarray) -> tuple[list[OcrLine], tuple[int, int]]:
    """Text lines of a BGR image and the (height, width) of the upright image they refer to."""
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
        crops = engine.get_crop_img_list(image, boxes)
        crops, labels, _ = engine.text_cls(crops)
        if _upside_down_share(labels) > UPSIDE_DOWN_SHARE:
            image = cv2.rotate(image, cv2.ROTATE_180)
            boxes = _detect(engine, image)
            if boxes is None:
                return [], image.shape[:2]
            crops, _, _ = engine.text_cls(engine.get_crop_img_list(image, boxes))
        results, _ = engine.text_rec(crops, False)
    lines = []
    for box, (text, score, *_rest) in zip(boxes, results, strict=False):
        if score < MIN_SCORE or not text.strip():
            continue
        xs, ys = box[:, 0], box[:, 1]
        lines.append(
            OcrLine(
                text.strip(),
                float(xs.min()),
                float(ys.min()),
                float(xs.max()),
                float(ys.max()),
                float(score),
            )
        )
    return lines, image.shape[:2]


def _limit_size(image: np.ndarray) -> np.ndarray:
    height, width = image.shape[:2]
    longest = max(height, width)
    if longest <= MAX_SIDE:
        return image
    ratio = MAX_SIDE / longest
    return cv2.resize(
        image, (int(width * ratio), int(height * ratio)), interpolation=cv2.INTER_AREA
    )


def _detect(engine, image: np.ndarray):
    boxes, _ = engine.text_det(image)
    if boxes is None or len(boxes) == 0:
        return None
    return engine.sorted_boxes(boxes)


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
