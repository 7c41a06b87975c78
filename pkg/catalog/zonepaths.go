package catalog

// DatasetPaths returns every dataset's path inside the zone by id, for the server to
// rewrite them out of what it shows (engine logs, command lines): never for clients.
func (c *Catalog) DatasetPaths() map[string]string {
	out := make(map[string]string, len(c.datasets))
	for id, d := range c.datasets {
		out[id] = d.path
	}
	return out
}
