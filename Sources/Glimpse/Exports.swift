// One import gives a user the models and everything they are built from.
@_exported import GlimpseCore
@_exported import GlimpseData
@_exported import GlimpseImage
@_exported import GlimpseText
