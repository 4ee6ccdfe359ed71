//go:build tools

// Package cluster pins the control-plane commands built from modules; see README.md.
package cluster

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
)
