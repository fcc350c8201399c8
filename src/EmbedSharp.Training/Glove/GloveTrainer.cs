using System.Diagnostics;
using EmbedSharp.Diagnostics;
using EmbedSharp.Numerics;
using EmbedSharp.Optimizers;
using EmbedSharp.Tables;
using EmbedSharp.Training.Common;
using EmbedSharp.Vocabularies;

namespace EmbedSharp.Training.Glove;

/// <summary>
/// GloVe (Pennington et al. 2014): count weighted co-occurrences in one bounded-memory pass, then fit
/// <c>w_i·w̃_j + b_i + b̃_j ≈ log X_ij</c> by weighted least squares with AdaGrad; the result is <c>W + W̃</c>.
/// </summary>
/// <remarks>
/// <para>Minimises <c>J = Σ_{X_ij &gt; 0} ½ f(X_ij)(w_i·w̃_j + b_i + b̃_j − log X_ij)²</c> with
/// <c>f(x) = (x/x_max)^α</c> for <c>x &lt; x_max</c> and 1 otherwise. Co-occurrences within <c>Window</c> words on a
/// line add <c>1/d</c> at distance d (out-of-vocabulary words are dropped first). Vectors and biases start
/// uniform in <c>[−0.5/Dims, 0.5/Dims)</c>, AdaGrad accumulators at 1; records are shuffled every epoch and
/// split among the threads (Hogwild). <see cref="TrainingSummary.EpochLosses"/> holds the mean of
/// <c>½ f·diff²</c> per record.</para>
/// <para>Memory: counting uses about <see cref="GloveOptions.MemoryBudgetBytes"/> (a quarter for the dense block
/// of the most frequent words, half for the sparse map, spilled as sorted shards when full); records that do
/// not fit the budget after merging are written to one more shard and trained in shuffled chunks.</para>
/// <para>Cancelling while the vocabulary or co-occurrences are counted throws
/// <see cref="OperationCanceledException"/> (there is nothing to return yet); cancelling during the least
/// squares returns the vectors as they are. A non-finite cost stops with <see cref="NonFiniteException"/>.</para>
/// </remarks>
public static class GloveTrainer
{
    /// <summary>Builds the vocabulary, counts co-occurrences and fits the vectors.</summary>
    /// <exception cref="ArgumentException">An option is out of range (checked before anything is read).</exception>
    /// <exception cref="InvalidOperationException">No word reaches <c>MinCount</c>, or no two words co-occur.</exception>
    /// <exception cref="InvalidDataException">A shard stream gave back different bytes than were written.</exception>
    public static WordVectors Train(TextCorpus corpus, GloveOptions? options = null, CancellationToken cancellationToken = default)
    {
        const string op = "glove.train";
        Guard.NotNull(op, corpus);
        options ??= new GloveOptions();
        options.Validate();
        var vocabulary = CorpusVocabulary.Build(corpus, options.MinCount, cancellationToken: cancellationToken);
        if (vocabulary.Count == 0)
            ThrowHelper.InvalidOperation(op, $"the vocabulary is empty (no word occurs MinCount = {options.MinCount} times or more); lower MinCount or use a larger corpus");
        using var counter = new CooccurrenceCounter(vocabulary.Count, options);
        counter.Count(corpus, vocabulary, cancellationToken);
        using var records = RecordSource.Collect(counter, options, vocabulary.Count);
        if (records.Count == 0)
            ThrowHelper.InvalidOperation(op, "no two vocabulary words co-occur on a line; use a larger corpus or window");
        return Fit(vocabulary, records, options, cancellationToken);
    }

    /// <summary>GloVe's weighting function <c>f(x) = min(1, (x/x_max)^α)</c>.</summary>
    public static double Weight(double x, double xMax = 100, double alpha = 0.75) => x < xMax ? Math.Pow(x / xMax, alpha) : 1;

    internal static unsafe WordVectors Fit(Vocabulary vocabulary, RecordSource records, GloveOptions o, CancellationToken cancellation)
    {
        int v = vocabulary.Count, dims = o.Dims;
        var random = new SeededRandom(o.Seed);
        var w = new EmbeddingTable(v, dims);
        var wc = new EmbeddingTable(v, dims);
        var gw = new EmbeddingTable(v, dims);
        var gwc = new EmbeddingTable(v, dims);
        var bias = new float[v];
        var biasC = new float[v];
        var gb = new float[v];
        var gbc = new float[v];
        TableRows.InitializeUniform(w, random, 0.5f / dims);
        TableRows.InitializeUniform(wc, random, 0.5f / dims);
        for (int i = 0; i < v; i++)
        {
            bias[i] = (random.NextSingle() - 0.5f) / dims;
            biasC[i] = (random.NextSingle() - 0.5f) / dims;
        }
        gw.AsSpan<float>().Fill(1);
        gwc.AsSpan<float>().Fill(1);
        gb.AsSpan().Fill(1);
        gbc.AsSpan().Fill(1);

        float* pw = TableRows.Base(w), pwc = TableRows.Base(wc);
        float* pgw = TableRows.Base(gw), pgwc = TableRows.Base(gwc);
        float eta = (float)o.LearningRate, xMax = (float)o.XMax, alpha = (float)o.Alpha;
        var losses = new List<double>();
        var clock = Stopwatch.StartNew();
        long processed = 0;
        int epochsDone = 0;
        bool stopped = false;
        var threadCost = new double[o.Threads];
        try
        {
            for (int epoch = 0; epoch < o.Epochs && !stopped; epoch++)
            {
                double cost = 0;
                long count = 0;
                foreach (var chunk in records.Chunks(random))
                {
                    Array.Clear(threadCost);
                    var done = new long[o.Threads];
                    void Work(int t)
                    {
                        long lo = (long)chunk.Length * t / o.Threads, hi = (long)chunk.Length * (t + 1) / o.Threads;
                        double c = 0;
                        fixed (float* b = bias, bc = biasC, g1 = gb, g2 = gbc)
                        fixed (CooccurrenceRecord* recs = chunk)
                        {
                            for (long k = lo; k < hi; k++)
                            {
                                if (((k - lo) & 0xFFFF) == 0 && cancellation.IsCancellationRequested)
                                    break;
                                var r = recs[k];
                                float* l1 = pw + (long)r.I * dims, l2 = pwc + (long)r.J * dims;
                                float diff = VectorMath.Dot(l1, l2, dims) + b[r.I] + bc[r.J] - MathF.Log(r.X);
                                float fdiff = r.X > xMax ? diff : MathF.Pow(r.X / xMax, alpha) * diff;
                                c += 0.5 * fdiff * diff;
                                fdiff *= eta;
                                GloveKernels.AdaGradStep(fdiff, l1, l2, pgw + (long)r.I * dims, pgwc + (long)r.J * dims, dims);
                                b[r.I] -= fdiff / MathF.Sqrt(g1[r.I]);
                                bc[r.J] -= fdiff / MathF.Sqrt(g2[r.J]);
                                g1[r.I] += fdiff * fdiff;
                                g2[r.J] += fdiff * fdiff;
                                done[t]++;
                            }
                        }
                        threadCost[t] = c;
                    }
                    RunThreads(o.Threads, Work);
                    foreach (double c in threadCost)
                        cost += c;
                    foreach (long d in done)
                        count += d;
                    if (!double.IsFinite(cost))
                        throw new NonFiniteException(ThrowHelper.Format("glove.train",
                            $"the cost became {cost} in epoch {epoch + 1}; lower LearningRate (now {o.LearningRate}) or check the input"), epoch + 1, -1, -1);
                    if (cancellation.IsCancellationRequested)
                    {
                        stopped = true;
                        break;
                    }
                }
                processed += count;
                if (count > 0)
                    losses.Add(cost / count);
                if (!stopped)
                    epochsDone++;
                o.Progress?.Report(new TrainingProgress("glove", "train", epoch + 1, (double)(epoch + 1) / o.Epochs, o.LearningRate,
                    count > 0 ? cost / count : double.NaN, processed, clock.Elapsed));
            }
            clock.Stop();
            // W + W̃ (GloVe's "-model 2" output): the sum of word and context vectors.
            for (int i = 0; i < v; i++)
                VectorMath.Add(pwc + (long)i * dims, pw + (long)i * dims, dims);
        }
        catch
        {
            w.Dispose();
            throw;
        }
        finally
        {
            wc.Dispose();
            gw.Dispose();
            gwc.Dispose();
        }
        var summary = new TrainingSummary(stopped, epochsDone, processed, clock.Elapsed, losses.Count > 0 ? losses[^1] : double.NaN, o.Threads, losses);
        return new WordVectors(vocabulary, w, null, summary);
    }

    private static void RunThreads(int threads, Action<int> body)
    {
        if (threads == 1)
        {
            body(0);
            return;
        }
        Exception? failure = null;
        var list = new Thread[threads];
        for (int t = 0; t < threads; t++)
        {
            int id = t;
            list[t] = new Thread(() =>
            {
                try
                {
                    body(id);
                }
                catch (Exception e)
                {
                    Interlocked.CompareExchange(ref failure, e, null);
                }
            }) { IsBackground = true, Name = $"glove-worker-{t}" };
            list[t].Start();
        }
        foreach (var th in list)
            th.Join();
        if (failure is not null)
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(failure).Throw();
    }
}
