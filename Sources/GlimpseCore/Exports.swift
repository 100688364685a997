@_exported import GlimpseBase
