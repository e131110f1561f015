"""Upscaling to the output size: swscale resamplers (:mod:`.resample`), Real-ESRGAN-family model upscalers
(:mod:`.sr_models`, run by :mod:`.model`), and the stage that picks between them (:mod:`.stage`).

Importing this package imports no torch; only a ``model:`` stage loads it.
"""

from shortgen.stages.upscale.resample import RESAMPLERS, cover_crop_box, resize_frame
from shortgen.stages.upscale.stage import METHODS_HELP, MODEL_PREFIX, UpscaleStage, parse_method

__all__ = ["METHODS_HELP", "MODEL_PREFIX", "RESAMPLERS", "UpscaleStage", "cover_crop_box", "parse_method",
           "resize_frame"]
