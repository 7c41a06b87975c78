package catalog

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"maps"
	"slices"
	"strconv"
)

// Fingerprint identifies what a catalogue file said: the file's sha256 and a digest of
// each workflow, dataset and policy rule, so that the audit trail can say what a reload
// added, removed or changed without holding the definitions (dataset paths among them).
type Fingerprint struct {
	SHA256    string            // hex sha256 of the file
	Workflows map[string]string // workflow id → digest of its definition
	Datasets  map[string]string // dataset id → digest of its definition
	Rules     []string          // digest of each policy rule, in file order
}

// Fingerprint returns what c's file said (zero for a nil c).
func (c *Catalog) Fingerprint() Fingerprint {
	if c == nil {
		return Fingerprint{}
	}
	return c.fp
}

// digest is a short hash of v's JSON form (maps encode with sorted keys, so it is stable).
func digest(v any) string {
	b, err := json.Marshal(v)
	if err != nil { // the YAML types always encode; be loud in the digest if not
		return "unencodable"
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

func fingerprintOf(sum string, raw fileYAML) Fingerprint {
	fp := Fingerprint{SHA256: sum, Workflows: map[string]string{}, Datasets: map[string]string{}}
	// The roots are part of each definition: moving one changes what its entries read.
	for _, e := range raw.Workflows {
		fp.Workflows[e.ID] = digest(struct {
			Root string
			E    entryYAML
		}{raw.Root, e})
	}
	for _, d := range raw.Datasets {
		fp.Datasets[d.ID] = digest(struct {
			Root string
			D    datasetYAML
		}{raw.DataRoot, d})
	}
	for _, r := range raw.Policy {
		fp.Rules = append(fp.Rules, digest(r))
	}
	return fp
}

// Diff lists the ids (for rules: "#N", their 1-based place in the old or new file) that
// one load added, removed or changed, each sorted.
type Diff struct {
	Added, Removed, Changed []string
}

// Empty reports whether d lists nothing.
func (d Diff) Empty() bool { return len(d.Added)+len(d.Removed)+len(d.Changed) == 0 }

// Change is what a catalogue says differently from the one before it.
type Change struct {
	Workflows, Datasets, Rules Diff
}

// Compare tells what changed from old to cur. Rules have no ids: a rule whose exact
// text is in both files is unchanged wherever it moved; any other is removed (old
// place) or added (new place).
func Compare(old, cur Fingerprint) Change {
	return Change{Workflows: compareIDs(old.Workflows, cur.Workflows), Datasets: compareIDs(old.Datasets, cur.Datasets),
		Rules: compareRules(old.Rules, cur.Rules)}
}

func compareIDs(old, cur map[string]string) Diff {
	var d Diff
	for _, id := range slices.Sorted(maps.Keys(cur)) {
		switch o, ok := old[id]; {
		case !ok:
			d.Added = append(d.Added, id)
		case o != cur[id]:
			d.Changed = append(d.Changed, id)
		}
	}
	for _, id := range slices.Sorted(maps.Keys(old)) {
		if _, ok := cur[id]; !ok {
			d.Removed = append(d.Removed, id)
		}
	}
	return d
}

func compareRules(old, cur []string) Diff {
	var d Diff
	unmatched := func(from, in []string) []string {
		left := map[string]int{}
		for _, r := range in {
			left[r]++
		}
		var out []string
		for i, r := range from {
			if left[r] > 0 {
				left[r]--
				continue
			}
			out = append(out, "#"+strconv.Itoa(i+1))
		}
		return out
	}
	d.Added, d.Removed = unmatched(cur, old), unmatched(old, cur)
	return d
}
