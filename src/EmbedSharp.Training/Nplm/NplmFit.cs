using System.Diagnostics;
using EmbedSharp.Diagnostics;
using EmbedSharp.Numerics;
using EmbedSharp.Optimizers;
using EmbedSharp.Training.Common;
using EmbedSharp.Training.Losses;

namespace EmbedSharp.Training.Nplm;

/// <summary>One training call over an <see cref="NplmModel"/>: buffers, sampler and the SGD loop.</summary>
internal sealed unsafe class NplmFit
{
    private readonly NplmModel _m;
    private readonly NplmOptions _o;
    private readonly int _v, _h, _nm, _n;
    private readonly float[] _x, _a, _e, _gx, _scores;
    private readonly int[] _context, _candidates;
    private readonly float[] _logKq;           // log(k·q_j) for sampled softmax / NCE
    private readonly NegativeSampler? _sampler;
    private readonly SeededRandom _random;
    private readonly int[] _batchIds;
    private readonly float[] _batchGrads;
    private int _batchCount;
    private readonly CurrentRate _rate = new();
    private FusedSparseBackward<Sgd>? _optimizer;

    public NplmFit(NplmModel model, NplmOptions options)
    {
        _m = model;
        _o = options;
        _v = model.Vocabulary.Count;
        _h = model.Hidden;
        _nm = model.InputWidth;
        _n = model.ContextSize;
        _x = new float[_nm];
        _a = new float[_h];
        _e = new float[_h];
        _gx = new float[_nm];
        _context = new int[_n];
        _random = new SeededRandom(options.Seed ^ 0x5DEECE66DUL);
        if (options.Output == NplmOutput.Full)
        {
            _scores = new float[_v];
            _candidates = [];
            _logKq = [];
        }
        else
        {
            _sampler = new NegativeSampler(model.Vocabulary.Counts, 0.75, (int)Math.Min(10_000_000, Math.Max(100_000, 100L * _v)));
            _scores = new float[options.Samples + 1];
            _candidates = new int[options.Samples + 1];
            _logKq = new float[_v];
            double total = 0;
            foreach (long c in model.Vocabulary.Counts)
                total += Math.Pow(c, 0.75);
            for (int j = 0; j < _v; j++)
            {
                double q = Math.Pow(model.Vocabulary.GetCount(j), 0.75) / total;
                _logKq[j] = (float)Math.Log(Math.Max(options.Samples * q, 1e-30));
            }
        }
        _batchIds = new int[options.MiniBatch * _n];
        _batchGrads = new float[options.MiniBatch * _nm];
    }

    public TrainingSummary Run(TextCorpus corpus, CancellationToken cancellation)
    {
        var clock = Stopwatch.StartNew();
        var losses = new List<double>();
        long examples = 0;
        int epochsDone = 0;
        bool stopped = false;
        double lastLoss = double.NaN;
        for (int epoch = 0; epoch < _o.Epochs && !stopped; epoch++)
        {
            double loss = 0;
            long count = 0;
            using (var cursor = corpus.Open())
            {
                while (!stopped && cursor.NextLine())
                {
                    Array.Fill(_context, 1); // <s>
                    while (cursor.NextToken(out ReadOnlySpan<char> token))
                    {
                        int target = _m.IdOf(token);
                        float lr = (float)(_o.LearningRate / (1 + _o.LearningRateDecay * examples));
                        float l = Step(target, lr);
                        if (!float.IsFinite(l))
                            throw new NonFiniteException(ThrowHelper.Format("nplm.train",
                                $"the loss became {l} at example {examples + 1} (epoch {epoch + 1}); lower the learning rate (now {lr})"), examples + 1, target, -1);
                        loss += l;
                        count++;
                        examples++;
                        Array.Copy(_context, 1, _context, 0, _n - 1);
                        _context[^1] = target;
                        if ((examples & 0x3FF) == 0 && cancellation.IsCancellationRequested)
                        {
                            stopped = true;
                            break;
                        }
                        if (examples % 100_000 == 0)
                            _o.Progress?.Report(new TrainingProgress("nplm", "train", epoch + 1, double.NaN, lr, loss / count, examples, clock.Elapsed));
                    }
                }
            }
            FlushEmbedding((float)(_o.LearningRate / (1 + _o.LearningRateDecay * examples)));
            if (count > 0)
            {
                lastLoss = loss / count;
                losses.Add(lastLoss);
            }
            if (!stopped)
                epochsDone++;
            _o.Progress?.Report(new TrainingProgress("nplm", "train", epoch + 1, (double)(epoch + 1) / _o.Epochs, _o.LearningRate, lastLoss, examples, clock.Elapsed));
        }
        return new TrainingSummary(stopped, epochsDone, examples, clock.Elapsed, lastLoss, 1, losses);
    }

    /// <summary>One SGD step on a given example, C's gradient applied at once (for gradient checks).</summary>
    internal float TrainExample(ReadOnlySpan<int> context, int target, float lr)
    {
        context.CopyTo(_context);
        float loss = Step(target, lr);
        FlushEmbedding(lr);
        return loss;
    }

    /// <summary>One SGD step on example (context → target); returns its loss before the update.</summary>
    private float Step(int target, float lr)
    {
        _m.ComputeHidden(_context, _x, _a);
        Array.Clear(_e);   // −lr·∂L/∂a
        Array.Clear(_gx);  // −lr·∂L/∂x
        float loss;
        fixed (float* x = _x, a = _a, e = _e, gx = _gx, u = _m.U, w = _m.W, b = _m.B, scores = _scores)
        {
            loss = _o.Output switch
            {
                NplmOutput.Full => FullSoftmax(target, lr, x, a, e, gx, u, w, b, scores),
                NplmOutput.Sampled => SampledSoftmax(target, lr, x, a, e, gx, u, w, b, scores),
                _ => Nce(target, lr, x, a, e, gx, u, w, b),
            };
            // Through tanh: ∂L/∂z = ∂L/∂a ⊙ (1 − a²); then H, d and x.
            fixed (float* hm = _m.H, d = _m.D)
            {
                for (int r = 0; r < _h; r++)
                {
                    float gz = e[r] * (1 - a[r] * a[r]);
                    VectorMath.AccumulateAndUpdate(gz, x, hm + (long)r * _nm, gx, _nm);
                    d[r] += gz;
                }
            }
        }
        if (!_m.Embedding.Frozen)
        {
            // Embedding.Backward wants ∂L/∂output, so undo the −lr folded into gx.
            _context.CopyTo(_batchIds.AsSpan(_batchCount * _n));
            var dst = _batchGrads.AsSpan(_batchCount * _nm, _nm);
            System.Numerics.Tensors.TensorPrimitives.Multiply(_gx, -1f / lr, dst);
            if (++_batchCount == _o.MiniBatch)
                FlushEmbedding(lr);
        }
        return loss;
    }

    private float Logit(int j, float* x, float* a, float* u, float* w, float* b)
    {
        float s = b[j] + VectorMath.Dot(u + (long)j * _h, a, _h);
        if (w is not null)
            s += VectorMath.Dot(w + (long)j * _nm, x, _nm);
        return s;
    }

    private void UpdateRow(int j, float g, float* x, float* a, float* e, float* gx, float* u, float* w, float* b)
    {
        VectorMath.AccumulateAndUpdate(g, a, u + (long)j * _h, e, _h);
        if (w is not null)
            VectorMath.AccumulateAndUpdate(g, x, w + (long)j * _nm, gx, _nm);
        b[j] += g;
    }

    private float FullSoftmax(int target, float lr, float* x, float* a, float* e, float* gx, float* u, float* w, float* b, float* scores)
    {
        float max = float.NegativeInfinity;
        for (int j = 0; j < _v; j++)
        {
            scores[j] = Logit(j, x, a, u, w, b);
            max = MathF.Max(max, scores[j]);
        }
        double z = 0;
        for (int j = 0; j < _v; j++)
            z += Math.Exp(scores[j] - max);
        float logZ = max + (float)Math.Log(z);
        float loss = logZ - scores[target];
        for (int j = 0; j < _v; j++)
        {
            float p = MathF.Exp(scores[j] - logZ);
            UpdateRow(j, -lr * (p - (j == target ? 1 : 0)), x, a, e, gx, u, w, b);
        }
        return loss;
    }

    private int DrawCandidates(int target)
    {
        int k = 0;
        _candidates[k++] = target;
        for (int s = 0; s < _o.Samples; s++)
        {
            int c = _sampler!.Sample(_random.NextUInt64());
            if (c != target) // accidental hits of the target are removed (Jean et al.)
                _candidates[k++] = c;
        }
        return k;
    }

    private float SampledSoftmax(int target, float lr, float* x, float* a, float* e, float* gx, float* u, float* w, float* b, float* scores)
    {
        int k = DrawCandidates(target);
        float max = float.NegativeInfinity;
        for (int i = 0; i < k; i++)
        {
            int j = _candidates[i];
            scores[i] = Logit(j, x, a, u, w, b) - _logKq[j];
            max = MathF.Max(max, scores[i]);
        }
        double z = 0;
        for (int i = 0; i < k; i++)
            z += Math.Exp(scores[i] - max);
        float logZ = max + (float)Math.Log(z);
        float loss = logZ - scores[0];
        for (int i = 0; i < k; i++)
        {
            float p = MathF.Exp(scores[i] - logZ);
            UpdateRow(_candidates[i], -lr * (p - (i == 0 ? 1 : 0)), x, a, e, gx, u, w, b);
        }
        return loss;
    }

    private float Nce(int target, float lr, float* x, float* a, float* e, float* gx, float* u, float* w, float* b)
    {
        int k = DrawCandidates(target);
        float loss = 0;
        for (int i = 0; i < k; i++)
        {
            int j = _candidates[i];
            float s = Logit(j, x, a, u, w, b) - _logKq[j];
            float label = i == 0 ? 1 : 0;
            float sig = 1 / (1 + MathF.Exp(-s));
            loss -= label > 0 ? MathF.Log(MathF.Max(sig, 1e-30f)) : MathF.Log(MathF.Max(1 - sig, 1e-30f));
            UpdateRow(j, lr * (label - sig), x, a, e, gx, u, w, b);
        }
        return loss;
    }

    /// <summary>
    /// Steps the embedding rows of the buffered examples with core's fused sparse backward and plain SGD,
    /// <c>w −= lr·Σ ∂L/∂x</c> per row (<see cref="Embedding.BackwardAndStep(ReadOnlySpan{int}, ReadOnlySpan{float}, SparseOptimizer)"/>).
    /// The rate reaches the rule as the schedule's factor of a unit rate, so the step uses exactly lr.
    /// </summary>
    private void FlushEmbedding(float lr)
    {
        if (_batchCount == 0)
            return;
        int n = _batchCount;
        _batchCount = 0;
        if (_m.Embedding.Frozen)
            return;
        // NaN is caught by the loss check (as before the optimizer was used), so the guard is off; one
        // thread, as the rest of the fit.
        _optimizer ??= FusedSparseBackward.Create(_m.Embedding.Weight, new Sgd(1.0),
            new SparseOptimizerOptions { Threads = 1, GuardNonFinite = false, Schedule = _rate });
        _rate.Rate = lr;
        _m.Embedding.BackwardAndStep(_batchIds.AsSpan(0, n * _n), _batchGrads.AsSpan(0, n * _nm), _optimizer);
    }

    /// <summary>The learning rate of the current flush, as a schedule factor.</summary>
    private sealed class CurrentRate : LearningRateSchedule
    {
        public double Rate { get; set; }

        public override double Factor(long step) => Rate;
    }
}
