@_exported import Glimpse
