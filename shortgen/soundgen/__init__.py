"""Generated sound: a text-to-audio model makes an ambience or music bed of the clip's length (``--sound``), and
backends that make sound with the picture (LTX-2) hand theirs over the same way.

This package's ``__init__`` and :mod:`shortgen.soundgen.plan` import no torch; the model code lives in
:mod:`shortgen.soundgen.stable_audio` and the tiny offline model in :mod:`shortgen.soundgen.tiny`.
"""
