"""One FFmpeg filter between a buffer and a sink, sized for a stream's frames: what deinterlacing and cropping
each run on their source's frames."""

from __future__ import annotations

from fractions import Fraction

import av


def one_filter(frame: av.VideoFrame, name: str, options: str) -> av.filter.Graph:
    """A configured graph that runs ``name`` (with ``options``) on frames of ``frame``'s size and format."""
    graph = av.filter.Graph()
    source = graph.add_buffer(width=frame.width, height=frame.height, format=frame.format.name,
                              time_base=frame.time_base or Fraction(1, 90000))
    step = graph.add(name, options)
    sink = graph.add("buffersink")
    source.link_to(step)
    step.link_to(sink)
    graph.configure()
    return graph
