"""Template tags of the collection workflow: `letter_format` writes the letters' amounts,
dates and page numbers in the letter's language."""
