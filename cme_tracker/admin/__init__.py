"""The administrators' pages: members and their cards, card sheets to print, walk-ins to confirm."""
