// Command pulumi-resource-random provides random:index/randomPassword:RandomPassword, the one
// resource of @pulumi/random that this project uses, for the Pulumi CLI.
//
// The Go module proxy serves no version of github.com/pulumi/pulumi-random/provider/v4 (a
// Terraform-bridged provider whose module also needs a local shim), so the real plugin cannot be
// built here. This one keeps the real resource's contract for the inputs the program sets: the
// same input names and defaults, `result` drawn from crypto/rand and returned as a secret, a
// bcrypt hash beside it, and a replacement whenever an input changes (all of the real resource's
// inputs force a new password).
package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"math/big"
	"os"
	"sort"

	"golang.org/x/crypto/bcrypt"
	pbempty "google.golang.org/protobuf/types/known/emptypb"

	"github.com/pulumi/pulumi/pkg/v3/resource/provider"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// version is what GetPluginInfo reports; the build sets it to the @pulumi/random version it stands for.
var version = "4.0.0"

const passwordType = "random:index/randomPassword:RandomPassword"

// The character classes of the real resource; special is its default set.
const (
	lowerChars   = "abcdefghijklmnopqrstuvwxyz"
	upperChars   = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	numericChars = "0123456789"
	specialChars = "!@#$%&*()-_=+[]{}<>:?"
)

// defaults are the real resource's input defaults.
var defaults = resource.PropertyMap{
	"lower": resource.NewBoolProperty(true), "upper": resource.NewBoolProperty(true),
	"numeric": resource.NewBoolProperty(true), "special": resource.NewBoolProperty(true),
	"minLower": resource.NewNumberProperty(0), "minUpper": resource.NewNumberProperty(0),
	"minNumeric": resource.NewNumberProperty(0), "minSpecial": resource.NewNumberProperty(0),
}

// inputKeys are the inputs whose change replaces the password.
var inputKeys = []resource.PropertyKey{
	"length", "lower", "upper", "numeric", "special", "minLower", "minUpper", "minNumeric", "minSpecial",
	"overrideSpecial", "keepers",
}

type randomProvider struct {
	pulumirpc.UnimplementedResourceProviderServer
}

func main() {
	err := provider.Main("random", func(*provider.HostClient) (pulumirpc.ResourceProviderServer, error) {
		return &randomProvider{}, nil
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-resource-random: %v\n", err)
		os.Exit(1)
	}
}

var unmarshal = plugin.MarshalOptions{KeepUnknowns: true, KeepSecrets: true, SkipNulls: true}
var marshal = plugin.MarshalOptions{KeepUnknowns: true, KeepSecrets: true}

func (p *randomProvider) GetPluginInfo(context.Context, *pbempty.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version}, nil
}

func (p *randomProvider) Handshake(context.Context, *pulumirpc.ProviderHandshakeRequest) (*pulumirpc.ProviderHandshakeResponse, error) {
	return &pulumirpc.ProviderHandshakeResponse{AcceptSecrets: true, AcceptResources: true}, nil
}

func (p *randomProvider) CheckConfig(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	return &pulumirpc.CheckResponse{Inputs: req.GetNews()}, nil
}

func (p *randomProvider) DiffConfig(context.Context, *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	return &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_NONE}, nil
}

func (p *randomProvider) Configure(context.Context, *pulumirpc.ConfigureRequest) (*pulumirpc.ConfigureResponse, error) {
	return &pulumirpc.ConfigureResponse{AcceptSecrets: true, AcceptResources: true}, nil
}

func (p *randomProvider) Cancel(context.Context, *pbempty.Empty) (*pbempty.Empty, error) {
	return &pbempty.Empty{}, nil
}

func requirePasswordType(urn string) error {
	if t := resource.URN(urn).Type(); t != passwordType {
		return fmt.Errorf("this random provider knows only %s, not %s", passwordType, t)
	}
	return nil
}

func number(m resource.PropertyMap, key resource.PropertyKey) (int, bool) {
	v, ok := m[key]
	if !ok || !v.IsNumber() {
		return 0, false
	}
	return int(v.NumberValue()), true
}

func (p *randomProvider) Check(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	if err := requirePasswordType(req.GetUrn()); err != nil {
		return nil, err
	}
	news, err := plugin.UnmarshalProperties(req.GetNews(), unmarshal)
	if err != nil {
		return nil, err
	}
	for k, v := range defaults {
		if _, ok := news[k]; !ok {
			news[k] = v
		}
	}
	var failures []*pulumirpc.CheckFailure
	if length, ok := number(news, "length"); ok {
		mins := 0
		for _, k := range []resource.PropertyKey{"minLower", "minUpper", "minNumeric", "minSpecial"} {
			n, _ := number(news, k)
			mins += n
		}
		if length < 1 {
			failures = append(failures, &pulumirpc.CheckFailure{Property: "length", Reason: "length must be at least 1"})
		} else if length < mins {
			failures = append(failures, &pulumirpc.CheckFailure{Property: "length",
				Reason: fmt.Sprintf("length (%d) must be at least the sum of the min* inputs (%d)", length, mins)})
		}
	} else if !news["length"].IsComputed() {
		failures = append(failures, &pulumirpc.CheckFailure{Property: "length", Reason: "length is required (a number)"})
	}
	inputs, err := plugin.MarshalProperties(news, marshal)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.CheckResponse{Inputs: inputs, Failures: failures}, nil
}

func (p *randomProvider) Diff(_ context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	olds, err := plugin.UnmarshalProperties(req.GetOlds(), unmarshal)
	if err != nil {
		return nil, err
	}
	news, err := plugin.UnmarshalProperties(req.GetNews(), unmarshal)
	if err != nil {
		return nil, err
	}
	var replaces []string
	for _, k := range inputKeys {
		o, n := olds[k], news[k]
		if !o.DeepEquals(n) {
			replaces = append(replaces, string(k))
		}
	}
	sort.Strings(replaces)
	if len(replaces) == 0 {
		return &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_NONE}, nil
	}
	return &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_SOME, Replaces: replaces, Diffs: replaces}, nil
}

// pick draws one character of set from crypto/rand.
func pick(set string) (byte, error) {
	i, err := rand.Int(rand.Reader, big.NewInt(int64(len(set))))
	if err != nil {
		return 0, err
	}
	return set[i.Int64()], nil
}

// generate draws a password the way the real resource does: the minimum of each class first,
// the rest from every enabled class, then a shuffle.
func generate(in resource.PropertyMap) (string, error) {
	length, _ := number(in, "length")
	special := specialChars
	if v, ok := in["overrideSpecial"]; ok && v.IsString() {
		special = v.StringValue()
	}
	classes := []struct {
		enabled, min resource.PropertyKey
		chars        string
	}{{"lower", "minLower", lowerChars}, {"upper", "minUpper", upperChars}, {"numeric", "minNumeric", numericChars}, {"special", "minSpecial", special}}
	var out []byte
	all := ""
	for _, c := range classes {
		if v := in[c.enabled]; !v.IsBool() || !v.BoolValue() || c.chars == "" {
			continue
		}
		all += c.chars
		n, _ := number(in, c.min)
		for i := 0; i < n; i++ {
			ch, err := pick(c.chars)
			if err != nil {
				return "", err
			}
			out = append(out, ch)
		}
	}
	if all == "" {
		return "", fmt.Errorf("at least one of lower, upper, numeric and special must be true")
	}
	for len(out) < length {
		ch, err := pick(all)
		if err != nil {
			return "", err
		}
		out = append(out, ch)
	}
	for i := len(out) - 1; i > 0; i-- {
		j, err := rand.Int(rand.Reader, big.NewInt(int64(i+1)))
		if err != nil {
			return "", err
		}
		out[i], out[j.Int64()] = out[j.Int64()], out[i]
	}
	return string(out), nil
}

func (p *randomProvider) Create(_ context.Context, req *pulumirpc.CreateRequest) (*pulumirpc.CreateResponse, error) {
	if err := requirePasswordType(req.GetUrn()); err != nil {
		return nil, err
	}
	in, err := plugin.UnmarshalProperties(req.GetProperties(), unmarshal)
	if err != nil {
		return nil, err
	}
	outs := in.Copy()
	if req.GetPreview() {
		outs["result"] = resource.MakeSecret(resource.MakeComputed(resource.NewStringProperty("")))
		outs["bcryptHash"] = resource.MakeSecret(resource.MakeComputed(resource.NewStringProperty("")))
	} else {
		password, err := generate(in)
		if err != nil {
			return nil, err
		}
		hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
		if err != nil {
			return nil, err
		}
		outs["result"] = resource.MakeSecret(resource.NewStringProperty(password))
		outs["bcryptHash"] = resource.MakeSecret(resource.NewStringProperty(string(hash)))
	}
	props, err := plugin.MarshalProperties(outs, marshal)
	if err != nil {
		return nil, err
	}
	// The real resource's id is the literal "none".
	return &pulumirpc.CreateResponse{Id: "none", Properties: props}, nil
}

func (p *randomProvider) Read(_ context.Context, req *pulumirpc.ReadRequest) (*pulumirpc.ReadResponse, error) {
	// A password lives only in the state: reading it gives back what the state holds.
	return &pulumirpc.ReadResponse{Id: req.GetId(), Properties: req.GetProperties(), Inputs: req.GetInputs()}, nil
}

func (p *randomProvider) Update(context.Context, *pulumirpc.UpdateRequest) (*pulumirpc.UpdateResponse, error) {
	return nil, fmt.Errorf("a RandomPassword is replaced, never updated in place")
}

func (p *randomProvider) Delete(context.Context, *pulumirpc.DeleteRequest) (*pbempty.Empty, error) {
	return &pbempty.Empty{}, nil
}
