// vcsim-harness: govmomi's vCenter simulator (vcsim) as a loopback endpoint for vsphere-harness.
//
// It builds govmomi's default vCenter model (simulator.VPX(): one datacenter, one standalone host,
// one cluster of three hosts, two VMs per host and per cluster, all powered on), serves it on
// 127.0.0.1, prints the SDK URL (e.g. https://127.0.0.1:8989/sdk) on one line to stdout once it
// accepts connections, and serves until SIGTERM or SIGINT (or, with -exit-on-eof, until its
// standard input closes, so that it never outlives the process that started it).
//
// Built offline in GOPATH mode from Debian's golang-github-vmware-govmomi-dev by build.sh.
package main

import (
	"bufio"
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"github.com/vmware/govmomi/simulator"
)

func main() {
	port := flag.Int("port", 0, "TCP port on 127.0.0.1 (0: any free port)")
	useTLS := flag.Bool("tls", true, "serve https (with govmomi's built-in self-signed localhost certificate)")
	vms := flag.Int("vm", 2, "virtual machines per standalone host and per cluster")
	hosts := flag.Int("host", 1, "standalone hosts per datacenter")
	clusters := flag.Int("cluster", 1, "clusters per datacenter")
	clusterHosts := flag.Int("cluster-host", 3, "hosts per cluster")
	user := flag.String("username", "", "the only user name accepted (default: any non-empty user name and password)")
	pass := flag.String("password", "", "the password of -username")
	exitOnEOF := flag.Bool("exit-on-eof", false, "exit when standard input reaches end of file")
	flag.Parse()

	if *port < 0 || *port > 65535 {
		fail("-port must be within 0..65535")
	}
	if (*user == "") != (*pass == "") {
		fail("-username and -password go together")
	}

	model := simulator.VPX()
	model.Machine = *vms
	model.Host = *hosts
	model.Cluster = *clusters
	model.ClusterHost = *clusterHosts
	if err := model.Create(); err != nil {
		fail("creating the model: " + err.Error())
	}

	listen := &url.URL{Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(*port))}
	if *user != "" {
		listen.User = url.UserPassword(*user, *pass)
	}
	model.Service.Listen = listen
	if *useTLS {
		model.Service.TLS = new(tls.Config)
	}
	server := model.Service.NewServer() // listening and serving once it returns

	shown := *server.URL
	shown.User = nil
	out := bufio.NewWriter(os.Stdout)
	fmt.Fprintln(out, shown.String())
	if err := out.Flush(); err != nil {
		os.Exit(1)
	}

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	done := make(chan struct{})
	if *exitOnEOF {
		go func() {
			_, _ = io.Copy(io.Discard, os.Stdin)
			close(done)
		}()
	}
	select {
	case <-stop:
	case <-done:
	}
	server.Close()
	model.Remove()
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, "vcsim-harness: "+msg)
	os.Exit(2)
}
