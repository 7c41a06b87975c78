package chart

import (
	"path"
	"slices"
	"strings"
	"testing"
)

// catalogValues are the catalog values of the chart's values.yaml overlaid with one values
// file, as helm merges them.
type catalogValues struct {
	Catalog struct {
		ExistingConfigMap string      `yaml:"existingConfigMap"`
		Key               string      `yaml:"key"`
		Items             []keyToPath `yaml:"items"`
		Volume            struct {
			Source      map[string]any `yaml:"source"`
			MountPath   string         `yaml:"mountPath"`
			CatalogFile string         `yaml:"catalogFile"`
		} `yaml:"volume"`
	} `yaml:"catalog"`
}

func readCatalogValues(t *testing.T, valuesFile string) catalogValues {
	t.Helper()
	var v catalogValues
	readYAML(t, chartDir+"/values.yaml", &v)
	readYAML(t, valuesFile, &v)
	return v
}

// wantCatalog is the zone.catalog the values file should lead to ("" for none).
func wantCatalog(t *testing.T, valuesFile string) string {
	t.Helper()
	v := readCatalogValues(t, valuesFile).Catalog
	switch {
	case v.ExistingConfigMap != "":
		return "/etc/enclave/catalog/catalog.yaml"
	case len(v.Volume.Source) > 0 && v.Volume.CatalogFile != "":
		return path.Join(v.Volume.MountPath, v.Volume.CatalogFile)
	}
	return ""
}

// configSources returns the ConfigMaps the pod's projected config volume is made of.
func configSources(t *testing.T, p podSpec) []projectedConfigMap {
	t.Helper()
	v := p.volume("config")
	if v == nil || v.Projected == nil {
		t.Fatalf("config volume is not a projected volume: %+v", v)
	}
	if v.Projected.DefaultMode != 0o444 {
		t.Errorf("config volume defaultMode = %#o, want 0444", v.Projected.DefaultMode)
	}
	var out []projectedConfigMap
	for _, s := range v.Projected.Sources {
		if s.ConfigMap == nil {
			t.Fatalf("config volume projects something other than a ConfigMap: %+v", v.Projected.Sources)
		}
		out = append(out, *s.ConfigMap)
	}
	return out
}

// checkCatalogMounts asserts the catalogue ConfigMap's keys appear under
// /etc/enclave/catalog and the zone volume is mounted read-only, as the values file says.
func checkCatalogMounts(t *testing.T, valuesFile string, p podSpec) {
	t.Helper()
	v := readCatalogValues(t, valuesFile).Catalog
	src := configSources(t, p)
	if v.ExistingConfigMap == "" {
		if len(src) != 1 {
			t.Errorf("config volume projects %d ConfigMaps without catalog.existingConfigMap, want 1", len(src))
		}
	} else {
		want := []keyToPath{{v.Key, "catalog/catalog.yaml"}}
		for _, it := range v.Items {
			want = append(want, keyToPath{it.Key, "catalog/" + path.Clean(it.Path)})
		}
		if len(src) != 2 || src[1].Name != v.ExistingConfigMap || !slices.Equal(src[1].Items, want) {
			t.Errorf("catalogue projection = %+v, want ConfigMap %s with %v", src[1:], v.ExistingConfigMap, want)
		}
	}
	vol, mnt := p.volume("zone"), p.Containers[0].mount("zone")
	if len(v.Volume.Source) == 0 {
		if vol != nil || mnt != nil {
			t.Errorf("zone volume %+v mounted %+v without catalog.volume.source", vol, mnt)
		}
		return
	}
	if vol == nil || mnt == nil {
		t.Fatalf("catalog.volume.source set but zone volume %+v, mount %+v", vol, mnt)
	}
	if !mnt.ReadOnly || mnt.MountPath != v.Volume.MountPath {
		t.Errorf("zone volume mount = %+v, want read-only at %s", mnt, v.Volume.MountPath)
	}
}

// TestZoneRefusals: a sealed zone without a catalogue, catalogue paths that leave their
// directory, a results store the pods cannot use and S3 keys outside the Secret all stop
// the rendering with a message naming the value.
func TestZoneRefusals(t *testing.T) {
	const secret = "s3-key-not-for-configmaps"
	pvc := "catalog.volume.source.persistentVolumeClaim.claimName=zone"
	s3 := []string{"config.zone.results.store=s3", "config.zone.results.s3.endpoint=minio:9000", "secrets.existingSecret=s"}
	tests := []struct {
		name string
		sets []string
		want string
	}{
		{"sealed without catalogue", []string{"catalog.existingConfigMap="}, "catalog.existingConfigMap is required with config.zone.mode sealed"},
		{"empty mode is sealed", []string{"config.zone.mode=", "catalog.existingConfigMap="}, "catalog.existingConfigMap is required"},
		{"volume without catalogue file", []string{"catalog.existingConfigMap=", pvc}, "catalog.existingConfigMap is required"},
		{"unknown mode", []string{"config.zone.mode=closed"}, `config.zone.mode must be sealed or open, not "closed"`},
		{"zone.catalog", []string{"config.zone.catalog=/etc/catalog.yaml"}, "config.zone.catalog is set by the chart"},
		{"catalogue file without volume", []string{"catalog.existingConfigMap=", "catalog.volume.catalogFile=c.yaml"}, "catalog.volume.catalogFile needs catalog.volume.source"},
		{"catalogue file escapes", []string{"catalog.existingConfigMap=", pvc, "catalog.volume.catalogFile=../etc/c.yaml"}, "catalog.volume.catalogFile must be a relative path"},
		{"absolute item", []string{"catalog.items[0].key=a", "catalog.items[0].path=/etc/a"}, "catalog.items[0].path must be a relative path"},
		{"item escapes", []string{"catalog.items[0].key=a", "catalog.items[0].path=w/../../a"}, "catalog.items[0].path must be a relative path"},
		{"item without key", []string{"catalog.items[0].path=w/a"}, "catalog.items[0].key is required"},
		{"item over catalogue", []string{"catalog.items[0].key=a", "catalog.items[0].path=./catalog.yaml"}, "catalog.items[0].path is catalog.yaml"},
		{"items without ConfigMap", []string{"config.zone.mode=open", "catalog.existingConfigMap=", "catalog.items[0].key=a", "catalog.items[0].path=a"}, "catalog.items needs catalog.existingConfigMap"},
		{"hostPath", []string{"catalog.volume.source.hostPath.path=/srv/zone"}, "catalog.volume.source.hostPath is refused"},
		{"relative mount", []string{pvc, "catalog.volume.mountPath=zone"}, "catalog.volume.mountPath must be an absolute path"},
		{"mount on root", []string{pvc, "catalog.volume.mountPath=/"}, "overlaps /,"},
		{"mount in data", []string{pvc, "catalog.volume.mountPath=/var/lib/enclave/zone"}, "overlaps /var/lib/enclave"},
		{"mount over config", []string{pvc, "catalog.volume.mountPath=/etc"}, "overlaps /etc/enclave"},
		{"mount in tmp", []string{pvc, "catalog.volume.mountPath=/tmp/zone/"}, "overlaps /tmp"},
		{"results off the volume", []string{"config.zone.results.local_dir=/results"}, "config.zone.results.local_dir must be under /var/lib/enclave"},
		{"results escape the volume", []string{"config.zone.results.local_dir=/var/lib/enclave/../../srv"}, "config.zone.results.local_dir must be under /var/lib/enclave"},
		{"unknown store", []string{"config.zone.results.store=gcs"}, `config.zone.results.store must be local or s3, not "gcs"`},
		{"s3 without endpoint", append(s3, "config.zone.results.s3.endpoint="), "config.zone.results.s3.endpoint is required"},
		{"s3 without Secret", append(s3, "secrets.existingSecret="), "config.zone.results.store s3 needs secrets.existingSecret"},
		{"s3 key unmapped", append(s3, "secrets.env.ENCLAVE_ZONE_RESULTS_S3_SECRET_KEY=null"), "secrets.env.ENCLAVE_ZONE_RESULTS_S3_SECRET_KEY is required"},
		{"s3 secret key in config", []string{"config.zone.results.s3.secret_key=" + secret}, "config.zone.results.s3.secret_key is a secret and must not be in the ConfigMap: put it in the Secret named by secrets.existingSecret and map ENCLAVE_ZONE_RESULTS_S3_SECRET_KEY"},
		{"s3 access key in config", append(s3, "config.zone.results.s3.access_key="+secret), "map ENCLAVE_ZONE_RESULTS_S3_ACCESS_KEY"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, stderr, err := helm(t, templateArgs(nil, withMinimal(tt.sets...))...)
			if err == nil {
				t.Fatalf("rendered; want a refusal containing %q", tt.want)
			}
			if !strings.Contains(stderr, tt.want) {
				t.Errorf("error = %s\nwant it to contain %q", stderr, tt.want)
			}
			if strings.Contains(out+stderr, secret) {
				t.Error("the secret value appears in helm's output")
			}
		})
	}
}

// TestZoneVariants renders the zone settings the example values leave out and runs
// enclave on each result.
func TestZoneVariants(t *testing.T) {
	t.Run("open without catalogue", func(t *testing.T) {
		m := render(t, nil, withMinimal("config.zone.mode=open", "catalog.existingConfigMap=")...)
		p := serverPod(t, m)
		if src := configSources(t, p); len(src) != 1 {
			t.Errorf("config volume projects %d ConfigMaps, want only the chart's", len(src))
		}
		eff := checkConfig(t, configYAML(t, m), p.Containers[0].Env)
		if eff["zone.mode"] != "open" || eff["zone.catalog"] != "" {
			t.Errorf("zone.mode %q, zone.catalog %q; want open and none", eff["zone.mode"], eff["zone.catalog"])
		}
	})

	t.Run("empty mode written out as sealed", func(t *testing.T) {
		m := render(t, nil, withMinimal("config.zone.mode=")...)
		if eff := checkConfig(t, configYAML(t, m), serverPod(t, m).Containers[0].Env); eff["zone.mode"] != "sealed" {
			t.Errorf("zone.mode = %q, want sealed", eff["zone.mode"])
		}
	})

	t.Run("catalogue on the volume", func(t *testing.T) {
		m := render(t, nil, withMinimal("catalog.existingConfigMap=", "catalog.volume.source.persistentVolumeClaim.claimName=zone",
			"catalog.volume.mountPath=/srv/zone/", "catalog.volume.catalogFile=cat/catalog.yaml")...)
		for _, name := range []string{serverName, workerName} {
			var d deployment
			m.decode(t, "Deployment", name, &d)
			p := d.Spec.Template.Spec
			if v := p.volume("zone"); v == nil || v.PersistentVolumeClaim == nil || v.PersistentVolumeClaim.ClaimName != "zone" {
				t.Errorf("%s zone volume = %+v, want claim zone", name, v)
			}
			if mnt := p.Containers[0].mount("zone"); mnt == nil || !mnt.ReadOnly || mnt.MountPath != "/srv/zone/" {
				t.Errorf("%s zone mount = %+v, want read-only at /srv/zone/", name, mnt)
			}
		}
		eff := checkConfig(t, configYAML(t, m), serverPod(t, m).Containers[0].Env)
		if eff["zone.catalog"] != "/srv/zone/cat/catalog.yaml" {
			t.Errorf("zone.catalog = %q, want /srv/zone/cat/catalog.yaml", eff["zone.catalog"])
		}
	})

	t.Run("s3 results", func(t *testing.T) {
		m := render(t, nil, withMinimal("secrets.existingSecret=enclave-secrets", "config.zone.results.store=s3",
			"config.zone.results.s3.endpoint=minio.minio.svc:9000", "config.zone.results.s3.bucket=results")...)
		cfg, env := configYAML(t, m), serverPod(t, m).Containers[0].Env
		checkNoSecretsIn(t, cfg)
		eff := checkConfig(t, cfg, env)
		for key, want := range map[string]string{
			"zone.results.store": "s3", "zone.results.s3.endpoint": "minio.minio.svc:9000", "zone.results.s3.bucket": "results",
			// The keys arrive from the Secret under the names Enclave reads; the secret one redacted.
			"zone.results.s3.access_key": "from-secret:s3-access-key", "zone.results.s3.secret_key": "REDACTED",
		} {
			if eff[key] != want {
				t.Errorf("effective %s = %q, want %q", key, eff[key], want)
			}
		}
		// Without the Secret's keys Enclave refuses to start, naming the key.
		out, err := enclaveOn(t, cfg, env, false, "config", "check")
		if err == nil || !strings.Contains(out, "zone.results.s3.access_key") {
			t.Errorf("config check without the Secret: err %v, output %s; want a refusal naming zone.results.s3.access_key", err, out)
		}
	})
}

func serverPod(t *testing.T, m manifests) podSpec {
	t.Helper()
	var d deployment
	m.decode(t, "Deployment", serverName, &d)
	return d.Spec.Template.Spec
}
