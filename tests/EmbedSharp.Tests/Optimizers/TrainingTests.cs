using EmbedSharp.Numerics;
using EmbedSharp.Optimizers;
using EmbedSharp.Sparse;
using EmbedSharp.Tables;

namespace EmbedSharp.Tests.Optimizers;

/// <summary>Training loops built from EmbeddingBag / tables and the fused optimizers.</summary>
public sealed class TrainingTests(Xunit.Abstractions.ITestOutputHelper output)
{
    /// <summary>
    /// A bag-of-words sentiment classifier, fastText style: mean-pooled word vectors (EmbeddingBag,
    /// trained with row-wise Adagrad through BackwardAndStep) feeding a 2-class linear layer (plain SGD).
    /// Words 0–19 signal class 0, 20–39 class 1, 40–59 are noise; every sentence mixes both.
    /// The cross-entropy starts near ln 2 ≈ 0.69 and after 40 epochs is about 0.001 (asserted: below 0.05).
    /// </summary>
    [Fact]
    public void BagOfWordsClassifierLearns()
    {
        var (loss0, loss) = TrainClassifier(seed: 1);
        output.WriteLine($"bag-of-words cross-entropy {loss0:F4} → {loss:F4}");
        Assert.InRange(loss0, 0.5, 1.5);
        Assert.True(loss < 0.05, $"final loss {loss}");
        // Exact mode is bit-reproducible run to run.
        Assert.Equal(TrainClassifier(seed: 1).Final, loss);
    }

    private static (double Initial, double Final) TrainClassifier(ulong seed)
    {
        const int vocab = 60, dims = 8, classes = 2, sentences = 200, batch = 20;
        var rng = new SeededRandom(seed);
        var data = new List<(int[] Words, int Label)>();
        for (int s = 0; s < sentences; s++)
        {
            int label = s % 2;
            int length = 3 + rng.NextInt(6);
            var words = new int[length];
            for (int k = 0; k < length; k++)
                words[k] = k == 0 || rng.NextInt(3) == 0 ? label * 20 + rng.NextInt(20) : 40 + rng.NextInt(20);
            data.Add((words, label));
        }
        using var bag = new EmbeddingBag(vocab, dims, new EmbeddingBagOptions { Mode = PoolingMode.Mean, Seed = seed });
        var opt = FusedSparseBackward.Create(bag.Weight, new RowwiseAdagrad(0.2));
        var linear = new float[classes * dims];
        for (int i = 0; i < linear.Length; i++)
            linear[i] = (float)(rng.NextNormal() * 0.1);
        double Loss()
        {
            int[] ids = data.SelectMany(x => x.Words).ToArray();
            var offsets = new int[sentences];
            for (int b = 1; b < sentences; b++)
                offsets[b] = offsets[b - 1] + data[b - 1].Words.Length;
            float[] pooled = bag.Forward(ids, offsets);
            double total = 0;
            for (int b = 0; b < sentences; b++)
            {
                var logits = new double[classes];
                for (int c = 0; c < classes; c++)
                    for (int d = 0; d < dims; d++)
                        logits[c] += linear[c * dims + d] * pooled[b * dims + d];
                double max = logits.Max();
                total += -(logits[data[b].Label] - max - Math.Log(logits.Sum(l => Math.Exp(l - max))));
            }
            return total / sentences;
        }
        double initial = Loss();
        for (int epoch = 0; epoch < 40; epoch++)
        {
            for (int start = 0; start < sentences; start += batch)
            {
                var slice = data.GetRange(start, batch);
                int[] ids = slice.SelectMany(x => x.Words).ToArray();
                var offsets = new int[batch];
                for (int b = 1; b < batch; b++)
                    offsets[b] = offsets[b - 1] + slice[b - 1].Words.Length;
                float[] pooled = bag.Forward(ids, offsets);
                var gradPooled = new float[batch * dims];
                var gradLinear = new float[linear.Length];
                for (int b = 0; b < batch; b++)
                {
                    var logits = new double[classes];
                    for (int c = 0; c < classes; c++)
                        for (int d = 0; d < dims; d++)
                            logits[c] += linear[c * dims + d] * pooled[b * dims + d];
                    double max = logits.Max();
                    double z = logits.Sum(l => Math.Exp(l - max));
                    int y = slice[b].Label;
                    for (int c = 0; c < classes; c++)
                    {
                        float dl = (float)((Math.Exp(logits[c] - max) / z - (c == y ? 1 : 0)) / batch);
                        for (int d = 0; d < dims; d++)
                        {
                            gradPooled[b * dims + d] += dl * linear[c * dims + d];
                            gradLinear[c * dims + d] += dl * pooled[b * dims + d];
                        }
                    }
                }
                bag.BackwardAndStep(ids, offsets, gradPooled, opt);
                for (int i = 0; i < linear.Length; i++)
                    linear[i] -= 0.5f * gradLinear[i];
            }
        }
        return (initial, Loss());
    }

    /// <summary>
    /// Matrix factorisation trained Hogwild-style: 4 threads call Step concurrently on one optimizer
    /// and one table (user rows then item rows), each on its own share of the ratings. The
    /// mean squared error of a rank-3 rating matrix falls from about 3 to about 0.006 (asserted: below 0.05).
    /// </summary>
    [Fact]
    public void HogwildMatrixFactorisationConverges()
    {
        const int users = 30, items = 30, dims = 6, threads = 4;
        var rng = new SeededRandom(17);
        var u = new float[users * 3];
        var v = new float[items * 3];
        for (int i = 0; i < u.Length; i++) { u[i] = (float)rng.NextNormal(); v[i] = (float)rng.NextNormal(); }
        var ratings = new List<(int User, int Item, float Value)>();
        for (int a = 0; a < users; a++)
            for (int b = 0; b < items; b++)
                ratings.Add((a, b, u[a * 3] * v[b * 3] + u[a * 3 + 1] * v[b * 3 + 1] + u[a * 3 + 2] * v[b * 3 + 2]));

        using var table = new EmbeddingTable(users + items, dims);
        var init = new float[(users + items) * dims];
        for (int i = 0; i < init.Length; i++)
            init[i] = (float)(rng.NextNormal() * 0.3);
        table.CopyFrom(init);
        var opt = FusedSparseBackward.Create(table, new Adam(0.03), new SparseOptimizerOptions { Mode = UpdateMode.Hogwild, Threads = 1 });

        double Mse()
        {
            float[] w = table.ToArray();
            return ratings.Average(r =>
            {
                double p = 0;
                for (int d = 0; d < dims; d++)
                    p += w[r.User * dims + d] * w[(users + r.Item) * dims + d];
                return (p - r.Value) * (p - r.Value);
            });
        }
        double before = Mse();
        Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t =>
        {
            var local = new SeededRandom(100 + (ulong)t);
            var row = new float[dims];
            for (int step = 0; step < 1500; step++)
            {
                const int batch = 16;
                var ids = new int[2 * batch];
                var grads = new float[2 * batch * dims];
                for (int k = 0; k < batch; k++)
                {
                    var r = ratings[local.NextInt(ratings.Count)];
                    int a = r.User, b = users + r.Item;
                    Span<float> wa = table.GetRow<float>(a), wb = table.GetRow<float>(b);
                    float err = 0;
                    for (int d = 0; d < dims; d++)
                        err += wa[d] * wb[d];
                    err = 2 * (err - r.Value) / batch;
                    ids[2 * k] = a;
                    ids[2 * k + 1] = b;
                    for (int d = 0; d < dims; d++)
                    {
                        grads[2 * k * dims + d] = err * wb[d];
                        grads[(2 * k + 1) * dims + d] = err * wa[d];
                    }
                }
                opt.Step(Coalesce.Rows(users + items, dims, ids, grads));
            }
        });
        double after = Mse();
        output.WriteLine($"Hogwild matrix factorisation MSE {before:F4} → {after:F4}");
        Assert.Equal(threads * 1500, opt.StepCount);
        Assert.True(before > 2, $"initial MSE {before}");
        Assert.True(after < 0.05, $"MSE {before} → {after}");
    }
}
