// Command kubelet-streams serves the one part of the kubelet API that the tests use beyond pod
// status: port forwarding (`kubectl port-forward`), on each node's address and the kubelet port,
// with the kubelet's own handler (k8s.io/kubelet/pkg/cri/streaming/portforward). The API server
// reaches it as it reaches any kubelet: TLS both ways, certificates of the cluster's CA. A forward
// connects to the pod's IP, which it reads from the API server.
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/kubelet/pkg/cri/streaming/portforward"
)

const (
	// The kubelet's defaults (--streaming-connection-idle-timeout, stream creation).
	idleTimeout           = 4 * time.Hour
	streamCreationTimeout = 30 * time.Second
	dialTimeout           = 5 * time.Second
	apiTimeout            = 10 * time.Second
)

// podForwarder dials the pod's IP on the asked port; the name is "<namespace>/<pod>".
type podForwarder struct {
	client *kubernetes.Clientset
}

func (f podForwarder) podIP(ctx context.Context, name string, uid types.UID) (string, error) {
	namespace, pod, _ := strings.Cut(name, "/")
	ctx, cancel := context.WithTimeout(ctx, apiTimeout)
	defer cancel()
	p, err := f.client.CoreV1().Pods(namespace).Get(ctx, pod, metav1.GetOptions{})
	if err != nil {
		return "", err
	}
	if uid != "" && p.UID != uid {
		return "", fmt.Errorf("pod %s has uid %s, not %s", name, p.UID, uid)
	}
	if p.Status.Phase != corev1.PodRunning || p.Status.PodIP == "" {
		return "", fmt.Errorf("pod %s is not running", name)
	}
	return p.Status.PodIP, nil
}

func (f podForwarder) PortForward(ctx context.Context, name string, uid types.UID, port int32, stream io.ReadWriteCloser) error {
	defer stream.Close()
	ip, err := f.podIP(ctx, name, uid)
	if err != nil {
		return err
	}
	conn, err := net.DialTimeout("tcp", net.JoinHostPort(ip, fmt.Sprint(port)), dialTimeout)
	if err != nil {
		return fmt.Errorf("pod %s port %d: %w", name, port, err)
	}
	defer conn.Close()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_, _ = io.Copy(conn, stream)
		if tcp, ok := conn.(*net.TCPConn); ok {
			_ = tcp.CloseWrite()
		}
	}()
	_, err = io.Copy(stream, conn)
	wg.Wait()
	return err
}

// handler serves /portForward/{namespace}/{pod}[/{uid}], as the kubelet's server does.
func handler(forwarder podForwarder) http.Handler {
	mux := http.NewServeMux()
	serve := func(w http.ResponseWriter, r *http.Request) {
		options, err := portforward.NewV4Options(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		name := r.PathValue("namespace") + "/" + r.PathValue("pod")
		uid := types.UID(r.PathValue("uid"))
		if _, err := forwarder.podIP(r.Context(), name, uid); err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		portforward.ServePortForward(w, r, forwarder, name, uid, options, idleTimeout, streamCreationTimeout, portforward.SupportedProtocols)
	}
	mux.HandleFunc("/portForward/{namespace}/{pod}", serve)
	mux.HandleFunc("/portForward/{namespace}/{pod}/{uid}", serve)
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") })
	return mux
}

func main() {
	listen := flag.String("listen", "", "comma-separated host:port addresses to serve on (each node's address and the kubelet port)")
	certFile := flag.String("tls-cert-file", "", "serving certificate (names every node address)")
	keyFile := flag.String("tls-private-key-file", "", "serving key")
	clientCA := flag.String("client-ca-file", "", "CA that signs the API server's kubelet client certificate")
	kubeconfig := flag.String("kubeconfig", "", "kubeconfig to read pods with")
	flag.Parse()
	if err := run(*listen, *certFile, *keyFile, *clientCA, *kubeconfig); err != nil {
		fmt.Fprintf(os.Stderr, "kubelet-streams: %v\n", err)
		os.Exit(1)
	}
}

func run(listen, certFile, keyFile, clientCA, kubeconfig string) error {
	if listen == "" || certFile == "" || keyFile == "" || clientCA == "" || kubeconfig == "" {
		return fmt.Errorf("--listen, --tls-cert-file, --tls-private-key-file, --client-ca-file and --kubeconfig are required")
	}
	config, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return err
	}
	client, err := kubernetes.NewForConfig(config)
	if err != nil {
		return err
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return err
	}
	caPEM, err := os.ReadFile(clientCA)
	if err != nil {
		return err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return fmt.Errorf("%s holds no certificate", clientCA)
	}
	tlsConfig := &tls.Config{
		Certificates: []tls.Certificate{cert},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    pool,
		MinVersion:   tls.VersionTLS12,
		// SPDY upgrades need HTTP/1.1.
		NextProtos: []string{"http/1.1"},
	}
	h := handler(podForwarder{client: client})
	errs := make(chan error, 1)
	for _, address := range strings.Split(listen, ",") {
		l, err := tls.Listen("tcp", address, tlsConfig)
		if err != nil {
			return err
		}
		server := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
		go func() { errs <- server.Serve(l) }()
	}
	fmt.Fprintf(os.Stderr, "kubelet-streams: serving on %s\n", listen)
	return <-errs
}
