package chart

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"gopkg.in/yaml.v3"
)

// chartDir is the chart under test, relative to this package.
const chartDir = "../../charts/enclave"

// helmBin returns the helm binary: $ENCLAVE_HELM, the one scripts/helm.sh builds, or helm on
// PATH. Without one the test is skipped with the reason, except under CI, where it fails.
func helmBin(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("ENCLAVE_HELM"); p != "" {
		return p
	}
	cache := os.Getenv("ENCLAVE_CACHE")
	if cache == "" {
		cache = "/var/cache/enclave"
	}
	if p := filepath.Join(cache, "bin", "helm"); isExecutable(p) {
		return p
	}
	if p, err := exec.LookPath("helm"); err == nil {
		return p
	}
	if os.Getenv("CI") != "" {
		t.Fatal("helm is required under CI: run scripts/helm.sh build")
	}
	t.Skip("SKIP: helm not found (set ENCLAVE_HELM, or run scripts/helm.sh build)")
	return ""
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

var (
	buildOnce sync.Once
	buildDir  string
	buildPath string
	buildErr  error
)

// enclaveBin builds cmd/enclave once per test binary, so the rendered config.yaml is checked
// by the very code that will read it.
func enclaveBin(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		if buildDir, buildErr = os.MkdirTemp("", "enclave-chart-test-"); buildErr != nil {
			return
		}
		buildPath = filepath.Join(buildDir, "enclave")
		out, err := exec.Command("go", "build", "-o", buildPath, "../../cmd/enclave").CombinedOutput()
		if err != nil {
			buildErr = errors.New("go build ./cmd/enclave: " + err.Error() + "\n" + string(out))
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// helm runs helm with args and returns stdout, stderr and whether it succeeded.
func helm(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(helmBin(t), args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

// manifests is one rendering of the chart, by kind and then name.
type manifests map[string]map[string][]byte

// render runs `helm template` with the values files and --set pairs and fails the test if
// it does not render.
func render(t *testing.T, valuesFiles []string, sets ...string) manifests {
	t.Helper()
	out, stderr, err := helm(t, templateArgs(valuesFiles, sets)...)
	if err != nil {
		t.Fatalf("helm template %v %v: %v\n%s", valuesFiles, sets, err, stderr)
	}
	return parse(t, out)
}

func templateArgs(valuesFiles, sets []string) []string {
	args := []string{"template", "enclave", chartDir}
	for _, f := range valuesFiles {
		args = append(args, "-f", f)
	}
	for _, s := range sets {
		args = append(args, "--set", s)
	}
	return args
}

// parse splits helm's output into objects, keeping each one's YAML for typed decoding.
func parse(t *testing.T, out string) manifests {
	t.Helper()
	m := manifests{}
	dec := yaml.NewDecoder(strings.NewReader(out))
	for {
		var node yaml.Node
		if err := dec.Decode(&node); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("helm output is not YAML: %v\n%s", err, out)
		}
		var meta struct {
			Kind     string `yaml:"kind"`
			Metadata struct {
				Name string `yaml:"name"`
			} `yaml:"metadata"`
		}
		if err := node.Decode(&meta); err != nil || meta.Kind == "" {
			continue // an empty document
		}
		raw, err := yaml.Marshal(&node)
		if err != nil {
			t.Fatal(err)
		}
		if m[meta.Kind] == nil {
			m[meta.Kind] = map[string][]byte{}
		}
		if _, dup := m[meta.Kind][meta.Metadata.Name]; dup {
			t.Errorf("%s %s rendered twice", meta.Kind, meta.Metadata.Name)
		}
		m[meta.Kind][meta.Metadata.Name] = raw
	}
	return m
}

// decode decodes the object kind/name into v, failing the test when it is missing.
func (m manifests) decode(t *testing.T, kind, name string, v any) {
	t.Helper()
	raw, ok := m[kind][name]
	if !ok {
		t.Fatalf("no %s %s rendered; have %v", kind, name, m.names(kind))
	}
	if err := yaml.Unmarshal(raw, v); err != nil {
		t.Fatalf("%s %s: %v", kind, name, err)
	}
}

func (m manifests) names(kind string) []string {
	var names []string
	for n := range m[kind] {
		names = append(names, n)
	}
	return names
}

// The slices of the Kubernetes objects the tests look at.
type (
	deployment struct {
		Spec struct {
			Replicas int `yaml:"replicas"`
			Strategy struct {
				Type string `yaml:"type"`
			} `yaml:"strategy"`
			Template struct {
				Spec podSpec `yaml:"spec"`
			} `yaml:"template"`
		} `yaml:"spec"`
	}
	podSpec struct {
		ServiceAccountName           string          `yaml:"serviceAccountName"`
		AutomountServiceAccountToken *bool           `yaml:"automountServiceAccountToken"`
		SecurityContext              securityContext `yaml:"securityContext"`
		Containers                   []container     `yaml:"containers"`
		Volumes                      []volume        `yaml:"volumes"`
	}
	securityContext struct {
		RunAsNonRoot             *bool `yaml:"runAsNonRoot"`
		ReadOnlyRootFilesystem   *bool `yaml:"readOnlyRootFilesystem"`
		AllowPrivilegeEscalation *bool `yaml:"allowPrivilegeEscalation"`
		Capabilities             struct {
			Drop []string `yaml:"drop"`
			Add  []string `yaml:"add"`
		} `yaml:"capabilities"`
		SeccompProfile struct {
			Type string `yaml:"type"`
		} `yaml:"seccompProfile"`
	}
	container struct {
		Name            string          `yaml:"name"`
		Args            []string        `yaml:"args"`
		Env             []envVar        `yaml:"env"`
		SecurityContext securityContext `yaml:"securityContext"`
		StartupProbe    *probe          `yaml:"startupProbe"`
		LivenessProbe   *probe          `yaml:"livenessProbe"`
		ReadinessProbe  *probe          `yaml:"readinessProbe"`
		Resources       struct {
			Requests map[string]string `yaml:"requests"`
			Limits   map[string]string `yaml:"limits"`
		} `yaml:"resources"`
		VolumeMounts []volumeMount `yaml:"volumeMounts"`
	}
	volumeMount struct {
		Name      string `yaml:"name"`
		MountPath string `yaml:"mountPath"`
		ReadOnly  bool   `yaml:"readOnly"`
	}
	envVar struct {
		Name      string  `yaml:"name"`
		Value     *string `yaml:"value"`
		ValueFrom *struct {
			SecretKeyRef *struct {
				Name     string `yaml:"name"`
				Key      string `yaml:"key"`
				Optional bool   `yaml:"optional"`
			} `yaml:"secretKeyRef"`
		} `yaml:"valueFrom"`
	}
	probe struct {
		HTTPGet *struct {
			Path string `yaml:"path"`
			Port string `yaml:"port"`
		} `yaml:"httpGet"`
	}
	volume struct {
		Name                  string `yaml:"name"`
		PersistentVolumeClaim *struct {
			ClaimName string `yaml:"claimName"`
		} `yaml:"persistentVolumeClaim"`
		Projected *struct {
			DefaultMode int `yaml:"defaultMode"`
			Sources     []struct {
				ConfigMap *projectedConfigMap `yaml:"configMap"`
			} `yaml:"sources"`
		} `yaml:"projected"`
		HostPath *map[string]any `yaml:"hostPath"`
		EmptyDir *map[string]any `yaml:"emptyDir"`
	}
	projectedConfigMap struct {
		Name  string      `yaml:"name"`
		Items []keyToPath `yaml:"items"`
	}
	keyToPath struct {
		Key  string `yaml:"key"`
		Path string `yaml:"path"`
	}
	configMap struct {
		Data map[string]string `yaml:"data"`
	}
)

// mount returns the container's mount of the volume called name, or nil.
func (c container) mount(name string) *volumeMount {
	for i := range c.VolumeMounts {
		if c.VolumeMounts[i].Name == name {
			return &c.VolumeMounts[i]
		}
	}
	return nil
}

// volume returns the pod's volume called name, or nil.
func (p podSpec) volume(name string) *volume {
	for i := range p.Volumes {
		if p.Volumes[i].Name == name {
			return &p.Volumes[i]
		}
	}
	return nil
}
