using System.Text.Json;
using EmbedSharp.Optimizers;
using EmbedSharp.Sparse;
using EmbedSharp.Tables;
using Xunit.Abstractions;
using static EmbedSharp.Tests.Conformance.SparseErrorCases;

namespace EmbedSharp.Tests.Conformance;

/// <summary>
/// Every case of <c>torch_optim.json</c>: three optimizer steps on an [8, 3] embedding weight,
/// comparing the gradient, the weight after each step, the changed/unchanged rows and the final
/// optimizer state. Each case runs with the <see cref="UntouchedRows"/> policy that reproduces
/// PyTorch's behaviour; where PyTorch's sparse and dense paths agree, both policies are run.
/// </summary>
public sealed class OptimizerConformanceTests(ITestOutputHelper output)
{
    private const string File = "torch_optim.json";

    [Fact]
    public void EveryCaseMatches()
    {
        using JsonDocument doc = ConformanceFiles.Load(File);
        Tolerance tol = Tolerance.FromMeta(doc);
        var report = new ConformanceReport(File, output);
        foreach (JsonElement c in doc.RootElement.GetProperty("cases").EnumerateArray())
        {
            string name = c.GetProperty("name").GetString()!;
            report.Run(name, () =>
            {
                string? failure = null;
                foreach (UntouchedRows policy in Policies(c))
                    failure ??= RunCase(c, tol, policy);
                return failure;
            });
        }
        report.Finish();
    }

    /// <summary>The optimizer cases of <c>torch_errors.json</c>, each mapped to our API.</summary>
    [Fact]
    public void ErrorCasesMatch()
    {
        var scenarios = new Dictionary<string, ErrorScenario>
        {
            ["adam_sparse_grad"] = new Accepts(() => DenseEqualsLazyOnFullGradient(new Adam(0.01)),
                "Adam takes a SparseGradient; with UntouchedRows.Dense it is PyTorch's dense Adam"),
            ["adamw_sparse_grad"] = new Accepts(() => DenseEqualsLazyOnFullGradient(new AdamW(0.01)),
                "AdamW takes a SparseGradient; with UntouchedRows.Dense it is PyTorch's dense AdamW"),
            ["sparse_adam_dense_grad"] = new Rejects(() =>
            {
                using var t = new EmbeddingTable(4, 2);
                FusedSparseBackward.Create(t, new LazyAdam(), new SparseOptimizerOptions { UntouchedRows = UntouchedRows.Dense });
            }),
            ["adagrad_sparse_weight_decay"] = new Accepts(() => LazyDecayTouchesOnlyListedRows(new Adagrad(0.1, weightDecay: 0.1)),
                "Lazy decays only the rows in the gradient; Dense decays every row"),
            ["sgd_sparse_weight_decay"] = new Accepts(() => LazyDecayTouchesOnlyListedRows(new Sgd(0.1, weightDecay: 0.1)),
                "Lazy decays only the rows in the gradient; Dense decays every row"),
            ["sgd_sparse_momentum_ok"] = new Accepts(() =>
            {
                using var t = Table();
                var opt = FusedSparseBackward.Create(t, new Sgd(0.1, momentum: 0.9));
                opt.Step(Grad(t, [1], [1f, 1f]));
                return opt.StepCount == 1 && t.ToArray()[2] != 1f ? null : "momentum step did not apply";
            }, "SGD momentum on a sparse gradient"),
            ["sparse_adam_empty_sparse_grad"] = new Accepts(() => EmptyGradientIsNoOp(new LazyAdam()), "an empty gradient is a no-op"),
            ["adagrad_empty_sparse_grad"] = new Accepts(() => EmptyGradientIsNoOp(new Adagrad()), "an empty gradient is a no-op"),
            ["sgd_empty_sparse_grad_ok"] = new Accepts(() => EmptyGradientIsNoOp(new Sgd(0.1, momentum: 0.9)), "an empty gradient is a no-op"),
            ["sparse_adam_lr_zero"] = new Rejects(() => _ = new LazyAdam(lr: 0)),
            ["adam_beta1_one"] = new Rejects(() => _ = new Adam(beta1: 1)),
            ["adagrad_negative_initial_accumulator"] = new Rejects(() => _ = new Adagrad(initialAccumulatorValue: -1)),
            ["sgd_nesterov_without_momentum"] = new Rejects(() => _ = new Sgd(0.1, nesterov: true)),
            ["sgd_negative_lr"] = new Rejects(() => _ = new Sgd(-0.1)),
        };
        string[] prefixes = ["adam_", "adamw_", "sparse_adam_", "adagrad_", "sgd_"];
        Run(output, "optim", n => prefixes.Any(p => n.StartsWith(p, StringComparison.Ordinal)), scenarios);
    }

    private static EmbeddingTable Table()
    {
        var t = new EmbeddingTable(4, 2);
        t.CopyFrom([1f, 1f, 1f, 1f, 1f, 1f, 1f, 1f]);
        return t;
    }

    private static SparseGradient Grad(EmbeddingTable t, int[] rows, float[] values) => new(t.NumEmbeddings, t.Dims, rows, values);

    private static string? DenseEqualsLazyOnFullGradient<TRule>(TRule rule) where TRule : struct, ISparseUpdateRule
    {
        using var a = Table();
        using var b = Table();
        var lazy = FusedSparseBackward.Create(a, rule);
        var dense = FusedSparseBackward.Create(b, rule, new SparseOptimizerOptions { UntouchedRows = UntouchedRows.Dense });
        for (int s = 0; s < 3; s++)
        {
            SparseGradient g = Grad(a, [0, 1, 2, 3], [0.5f, -1f, 0.25f, 2f, -0.5f, 1f, 0f, 0.125f]);
            lazy.Step(g);
            dense.Step(g);
        }
        return a.ToArray().AsSpan().SequenceEqual(b.ToArray()) ? null : "Lazy and Dense differ on a gradient that lists every row";
    }

    private static string? LazyDecayTouchesOnlyListedRows<TRule>(TRule rule) where TRule : struct, ISparseUpdateRule
    {
        using var a = Table();
        using var b = Table();
        FusedSparseBackward.Create(a, rule).Step(Grad(a, [1], [0.5f, 0.5f]));
        FusedSparseBackward.Create(b, rule, new SparseOptimizerOptions { UntouchedRows = UntouchedRows.Dense }).Step(Grad(b, [1], [0.5f, 0.5f]));
        float[] lazy = a.ToArray(), dense = b.ToArray();
        if (lazy[0] != 1f || lazy[4] != 1f || lazy[2] == 1f)
            return "Lazy weight decay changed an untouched row or left the touched row";
        return dense[0] != 1f && dense[6] != 1f ? null : "Dense weight decay left an untouched row unchanged";
    }

    private static string? EmptyGradientIsNoOp<TRule>(TRule rule) where TRule : struct, ISparseUpdateRule
    {
        using var t = Table();
        var opt = FusedSparseBackward.Create(t, rule);
        opt.Step(Grad(t, [2], [0.5f, -0.5f]));
        float[] before = t.ToArray();
        var stateBefore = new float[opt.StateWidth];
        var stateAfter = new float[opt.StateWidth];
        opt.ReadState(2, stateBefore);
        opt.Step(Grad(t, [], []));
        opt.ReadState(2, stateAfter);
        return before.AsSpan().SequenceEqual(t.ToArray()) && stateBefore.AsSpan().SequenceEqual(stateAfter) ? null : "an empty gradient changed the table or the state";
    }

    /// <summary>
    /// The policies that reproduce PyTorch for a case: Dense for momentum and weight decay (and dense
    /// Adam/AdamW), Lazy for SparseAdam, and both where the two must agree (plain SGD, Adagrad).
    /// </summary>
    private static UntouchedRows[] Policies(JsonElement c)
    {
        JsonElement h = c.GetProperty("hyperparameters");
        return c.GetProperty("optimizer").GetString() switch
        {
            "sparse_adam" => [UntouchedRows.Lazy],
            "adam" or "adamw" => [UntouchedRows.Dense],
            "sgd" when Get(h, "momentum", 0) != 0 || Get(h, "weight_decay", 0) != 0 => [UntouchedRows.Dense],
            _ => [UntouchedRows.Lazy, UntouchedRows.Dense],
        };
    }

    internal static SparseOptimizer CreateOptimizer(JsonElement c, EmbeddingTable table, UntouchedRows policy)
    {
        JsonElement h = c.GetProperty("hyperparameters");
        var options = new SparseOptimizerOptions { UntouchedRows = policy };
        double b1 = 0.9, b2 = 0.999;
        if (h.TryGetProperty("betas", out var betas))
        {
            b1 = betas[0].GetDouble();
            b2 = betas[1].GetDouble();
        }
        return c.GetProperty("optimizer").GetString() switch
        {
            "sgd" => FusedSparseBackward.Create(table, new Sgd(Get(h, "lr", 0), Get(h, "momentum", 0), Get(h, "dampening", 0),
                Get(h, "weight_decay", 0), h.TryGetProperty("nesterov", out var n) && n.GetBoolean()), options),
            "sparse_adam" => FusedSparseBackward.Create(table, new LazyAdam(Get(h, "lr", 1e-3), b1, b2, Get(h, "eps", 1e-8)), options),
            "adagrad" => FusedSparseBackward.Create(table, new Adagrad(Get(h, "lr", 1e-2), Get(h, "lr_decay", 0), Get(h, "weight_decay", 0),
                Get(h, "initial_accumulator_value", 0), Get(h, "eps", 1e-10)), options),
            "adam" => FusedSparseBackward.Create(table, new Adam(Get(h, "lr", 1e-3), b1, b2, Get(h, "eps", 1e-8), Get(h, "weight_decay", 0),
                h.TryGetProperty("amsgrad", out var a) && a.GetBoolean()), options),
            "adamw" => FusedSparseBackward.Create(table, new AdamW(Get(h, "lr", 1e-3), b1, b2, Get(h, "eps", 1e-8), Get(h, "weight_decay", 1e-2),
                h.TryGetProperty("amsgrad", out var aw) && aw.GetBoolean()), options),
            var o => throw new InvalidDataException("unknown optimizer " + o),
        };
    }

    private static string? RunCase(JsonElement c, Tolerance tol, UntouchedRows policy)
    {
        JsonTensor w0 = JsonTensor.Parse(c.GetProperty("inputs").GetProperty("weight_initial"));
        int v = (int)w0.Shape[0], dims = (int)w0.Shape[1];
        using var table = new EmbeddingTable(v, dims);
        table.CopyFrom(w0.Floats());
        SparseOptimizer opt = CreateOptimizer(c, table, policy);
        string tag = $"[{policy}] ";
        float[] before = table.ToArray();
        JsonElement expected = c.GetProperty("expected");
        foreach (JsonElement s in c.GetProperty("steps").EnumerateArray())
        {
            int step = s.GetProperty("step").GetInt32();
            int[] ids = JsonTensor.Parse(s.GetProperty("indices")).Ints();
            float[] g = JsonTensor.Parse(s.GetProperty("grad_output")).Floats();
            SparseGradient grad = Coalesce.Rows(v, dims, ids, g);
            string? f = CompareGradient(grad, s.GetProperty("grad"), tol);
            if (f is not null)
                return tag + $"step {step} " + f;
            int[] present = s.GetProperty("rows_with_nonzero_grad_entry").EnumerateArray().Select(x => x.GetInt32()).ToArray();
            if (!present.AsSpan().SequenceEqual(grad.Rows))
                return tag + $"step {step}: gradient rows [{string.Join(",", grad.Rows.ToArray())}], expected [{string.Join(",", present)}]";

            float[] prev = table.ToArray();
            opt.Step(grad);
            float[] now = table.ToArray();
            f = tol.Compare(now, JsonTensor.Parse(s.GetProperty("weight_after")).Data, $"step {step} weight_after");
            f ??= CompareRows(ChangedRows(prev, now, dims), s.GetProperty("rows_changed_this_step"), $"step {step} rows changed");
            if (step == 1)
                f ??= tol.Compare(now, JsonTensor.Parse(expected.GetProperty("weight_after_step_1")).Data, "weight_after_step_1");
            if (f is not null)
                return tag + f;
        }
        float[] final = table.ToArray();
        int[] changed = ChangedRows(before, final, dims);
        string? r = tol.Compare(final, JsonTensor.Parse(expected.GetProperty("weight_after_step_3")).Data, "weight_after_step_3")
            ?? CompareRows(changed, expected.GetProperty("rows_changed_after_3_steps_vs_initial"), "rows changed after 3 steps")
            ?? CompareRows(Enumerable.Range(0, v).Except(changed).ToArray(), expected.GetProperty("rows_unchanged_after_3_steps"), "rows unchanged after 3 steps")
            ?? CompareState(opt, expected.GetProperty("optimizer_state_after_step_3"), tol);
        return r is null ? null : tag + r;
    }

    private static string? CompareGradient(SparseGradient grad, JsonElement g, Tolerance tol)
    {
        if (!g.GetProperty("sparse").GetBoolean())
            return tol.Compare(grad.ToDense(), JsonTensor.Parse(g.GetProperty("dense")).Data, "dense gradient");
        int[] rows = JsonTensor.Parse(g.GetProperty("coalesced_indices")).Ints();
        if (!rows.AsSpan().SequenceEqual(grad.Rows))
            return $"coalesced rows [{string.Join(",", grad.Rows.ToArray())}], expected [{string.Join(",", rows)}]";
        return tol.Compare(grad.Values, JsonTensor.Parse(g.GetProperty("coalesced_values")).Data, "coalesced gradient");
    }

    /// <summary>Compares torch's state tensors with ours: exp_avg / exp_avg_sq / max_exp_avg_sq / sum / momentum_buffer, and step.</summary>
    private static string? CompareState(SparseOptimizer opt, JsonElement state, Tolerance tol)
    {
        int v = opt.Table.NumEmbeddings, dims = opt.Table.Dims;
        var rowState = new float[opt.StateWidth];
        foreach (JsonProperty p in state.EnumerateObject())
        {
            if (p.Name == "step")
            {
                if (opt.StepCount != (long)p.Value.GetDouble())
                    return $"step count {opt.StepCount}, expected {p.Value.GetDouble()}";
                continue;
            }
            if (p.Value.ValueKind == JsonValueKind.Null)
            {
                if (opt.StateWidth != 0)
                    return $"{p.Name} is null in torch but our state is {opt.StateWidth} floats per row";
                continue;
            }
            int slot = p.Name switch
            {
                "exp_avg" or "sum" or "momentum_buffer" => 0,
                "exp_avg_sq" => 1,
                "max_exp_avg_sq" => 2,
                _ => throw new InvalidDataException("unknown state " + p.Name),
            };
            var ours = new float[v * dims];
            for (int r = 0; r < v; r++)
            {
                opt.ReadState(r, rowState);
                rowState.AsSpan(slot * dims, dims).CopyTo(ours.AsSpan(r * dims, dims));
            }
            string? f = tol.Compare(ours, JsonTensor.Parse(p.Value).Data, "state " + p.Name);
            if (f is not null)
                return f;
        }
        return null;
    }

    private static int[] ChangedRows(float[] a, float[] b, int dims) =>
        Enumerable.Range(0, a.Length / Math.Max(dims, 1)).Where(r => !a.AsSpan(r * dims, dims).SequenceEqual(b.AsSpan(r * dims, dims))).ToArray();

    private static string? CompareRows(int[] actual, JsonElement expected, string what)
    {
        int[] e = expected.EnumerateArray().Select(x => x.GetInt32()).ToArray();
        return actual.AsSpan().SequenceEqual(e) ? null : $"{what}: [{string.Join(",", actual)}], expected [{string.Join(",", e)}]";
    }

    private static double Get(JsonElement h, string key, double fallback) =>
        h.TryGetProperty(key, out var x) && x.ValueKind == JsonValueKind.Number ? x.GetDouble() : fallback;
}
