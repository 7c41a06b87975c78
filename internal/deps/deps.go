// Package deps pins modules that packages under construction will import, so that
// `go mod tidy` keeps them while work is in progress. Removed once they are imported.
package deps

import (
	_ "github.com/alicebob/miniredis/v2"
	_ "github.com/getkin/kin-openapi/openapi3"
	_ "github.com/gin-gonic/gin"
	_ "github.com/google/uuid"
	_ "github.com/hibiken/asynq"
	_ "github.com/knadh/koanf/parsers/yaml"
	_ "github.com/knadh/koanf/providers/env"
	_ "github.com/knadh/koanf/providers/file"
	_ "github.com/knadh/koanf/v2"
	_ "github.com/oapi-codegen/gin-middleware"
	_ "github.com/oapi-codegen/runtime"
	_ "github.com/redis/go-redis/v9"
	_ "github.com/spf13/cobra"
	_ "go.uber.org/goleak"
	_ "golang.org/x/sys/unix"
	_ "gopkg.in/yaml.v3"
)
