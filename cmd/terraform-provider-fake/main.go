package main

import (
	"context"
	"fmt"
	"os"
)

func main() {
	if err := run(context.Background(), os.Args[0], os.Getenv); err != nil {
		fmt.Fprintf(os.Stderr, "terraform-provider-fake: %v\n", err)
		os.Exit(1)
	}
}
