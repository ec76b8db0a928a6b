"""Understanding residents: the rules file and the classifier that applies it."""
