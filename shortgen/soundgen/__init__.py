"""Generated sound: a text-to-audio model makes an ambience or music bed of the clip's length (``--sound``), and
backends that make sound with the picture (LTX-2) hand theirs over the same way.

Torch-free: :mod:`~shortgen.soundgen.plan` (prompt, windows, joins, and ``generated_audio``, the one hand-off
to the mixer), :mod:`~shortgen.soundgen.buffer` (the in-memory track the mixer reads) and
:mod:`~shortgen.soundgen.clip` (what ``make`` calls). With torch: :mod:`~shortgen.soundgen.stable_audio` (the model)
and :mod:`~shortgen.soundgen.tiny` (the tiny offline model).
"""
