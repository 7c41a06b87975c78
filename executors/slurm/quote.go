package slurm

import "strings"

// Quote returns s as one POSIX shell word that the shell reads back as exactly s.
// Words made only of characters that are never special stay bare (for readable logs);
// anything else is wrapped in single quotes, inside which the shell interprets nothing,
// and each single quote inside becomes: close the quotes, a backslash-escaped quote,
// reopen. Newlines, $(), backticks, globs and semicolons are therefore all literal.
func Quote(s string) string {
	if s == "" {
		return "''"
	}
	if isBare(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// QuoteArgv joins argv into one shell command line of quoted words.
func QuoteArgv(argv []string) string {
	words := make([]string, len(argv))
	for i, a := range argv {
		words[i] = Quote(a)
	}
	return strings.Join(words, " ")
}

// isBare reports whether s needs no quoting. '=' is left out so that a word is never
// read as a variable assignment, '~' so that it is never expanded.
func isBare(s string) bool {
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case strings.ContainsRune("_-+.,/:@%", r):
		default:
			return false
		}
	}
	return true
}
