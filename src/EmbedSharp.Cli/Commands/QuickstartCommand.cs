using System.CommandLine;
using System.Diagnostics;
using System.Numerics.Tensors;
using EmbedSharp.Cli.Output;
using EmbedSharp.Initializers;
using EmbedSharp.Numerics;

namespace EmbedSharp.Cli.Commands;

/// <summary>
/// <c>embedsharp quickstart</c>: a two-minute tour of the Embedding layer on a synthetic task —
/// lookup of a batch, sparse gradients, a few hundred SGD steps that pull ids of the same group
/// together, and the tied <c>AsLinear</c> head ranking ids for a query.
/// </summary>
internal static class QuickstartCommand
{
    public static Command Create(IConsole console)
    {
        var seed = new Option<ulong>("--seed") { Description = "Seed for the table and the training pairs.", DefaultValueFactory = _ => 42 };
        var steps = new Option<int>("--steps") { Description = "SGD steps (batches of 256 pairs).", DefaultValueFactory = _ => 300 };
        var cmd = new Command("quickstart", "Tour the Embedding layer: lookup, sparse gradients, training, tied output head.\n\nExample:\n  embedsharp quickstart --steps 300 --seed 42")
        {
            seed, steps,
        };
        cmd.SetAction(r => Run(console, r.GetValue(seed), r.GetValue(steps)));
        return cmd;
    }

    private const int Groups = 8, PerGroup = 25, Dims = 32, Batch = 256;

    public static int Run(IConsole console, ulong seed, int steps)
    {
        if (steps < 1)
            throw new ArgumentOutOfRangeException(nameof(steps), steps, "[quickstart] --steps must be ≥ 1");
        TextWriter o = console.Out;
        int vocab = Groups * PerGroup + 1; // id 0 is padding
        using var emb = new Embedding(vocab, Dims, new EmbeddingOptions { PaddingIdx = 0, Initializer = Initializer.MlxDefault, Seed = seed });
        o.WriteLine($"Embedding({vocab}, {Dims}): padding row 0, MLX init N(0, 1/{Dims}), {emb.Weight.ByteLength:N0} bytes of float32");

        var batch = emb.Forward(Tensor.Create(new[] { 1, 2, 0, 26, 27, 0 }, [2, 3]));
        o.WriteLine($"lookup of a [2, 3] id tensor → shape [{string.Join(", ", batch.Lengths.ToArray())}]; the padding positions read zeros: {batch[0, 2, 0]} {batch[1, 2, 0]}");

        // Ids 1..200 fall into 8 groups of 25; a pair of the same group is a positive, a random id a negative.
        var rng = new SeededRandom(seed + 1);
        var ids = new int[Batch * 2];
        var labels = new float[Batch];
        var vectors = new float[ids.Length * Dims];
        var grad = new float[ids.Length * Dims];
        const float lr = 0.5f;
        var sw = Stopwatch.StartNew();
        double windowLoss = 0;
        int windowSteps = 0;
        for (int step = 1; step <= steps; step++)
        {
            for (int i = 0; i < Batch; i++)
            {
                int a = 1 + rng.NextInt(vocab - 1);
                bool positive = (i & 1) == 0;
                int b = positive ? 1 + (a - 1) / PerGroup * PerGroup + rng.NextInt(PerGroup) : 1 + rng.NextInt(vocab - 1);
                ids[2 * i] = a;
                ids[2 * i + 1] = b;
                labels[i] = positive ? 1 : 0;
            }
            emb.Forward(ids, vectors);
            double loss = 0;
            for (int i = 0; i < Batch; i++)
            {
                var va = vectors.AsSpan(2 * i * Dims, Dims);
                var vb = vectors.AsSpan((2 * i + 1) * Dims, Dims);
                float p = 1 / (1 + MathF.Exp(-TensorPrimitives.Dot(va, vb)));
                loss -= labels[i] == 1 ? Math.Log(p + 1e-9) : Math.Log(1 - p + 1e-9);
                float g = (p - labels[i]) / Batch; // d loss / d (va·vb)
                TensorPrimitives.Multiply(vb, g, grad.AsSpan(2 * i * Dims, Dims));
                TensorPrimitives.Multiply(va, g, grad.AsSpan((2 * i + 1) * Dims, Dims));
            }
            var sparse = emb.Backward(ids, grad);
            for (int k = 0; k < sparse.Count; k++)
            {
                Span<float> row = emb.Weight.GetRow<float>(sparse.Rows[k]);
                TensorPrimitives.MultiplyAdd(sparse.GetRow(k), -lr * Batch / 8f, row, row);
            }
            windowLoss += loss / Batch;
            windowSteps++;
            if (step == 1 || step % Math.Max(1, steps / 6) == 0 || step == steps)
            {
                o.WriteLine($"step {step,4}: mean loss {windowLoss / windowSteps:F4} over the last {windowSteps} steps ({sparse.Count} distinct rows updated from {ids.Length} lookups)");
                windowLoss = 0;
                windowSteps = 0;
            }
        }
        o.WriteLine($"trained {steps} steps in {sw.Elapsed.TotalSeconds:F2} s");

        // The tied head: logits = v · Wᵀ over the whole vocabulary, top 5 for id 1 (group 0 = ids 1..25).
        var query = new float[Dims];
        emb.Forward([1], query);
        var logits = new float[vocab];
        emb.AsLinear(query, logits);
        logits[0] = float.NegativeInfinity;
        int[] top = Enumerable.Range(0, vocab).OrderByDescending(i => logits[i]).Take(6).ToArray();
        int sameGroup = top.Count(i => i >= 1 && i <= PerGroup);
        o.WriteLine($"AsLinear(v[1]) top ids: {string.Join(", ", top)} — {sameGroup} of 6 in id 1's group (ids 1..{PerGroup})");
        return EmbedSharpCli.Ok;
    }
}
