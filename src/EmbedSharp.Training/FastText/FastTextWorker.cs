using EmbedSharp.Numerics;
using EmbedSharp.Training.Common;
using EmbedSharp.Training.Losses;
using EmbedSharp.Vocabularies;

namespace EmbedSharp.Training.FastText;

/// <summary>One fastText worker thread: its own generator, line buffer and hidden/gradient rows.</summary>
internal sealed unsafe class FastTextWorker
{
    private const int MaxLineSize = 1024; // fastText's MAX_LINE_SIZE
    private readonly FastTextShared _s;
    private readonly TrainingRun _run;
    private readonly SeededRandom _random;
    private readonly float* _wi, _wo;
    private readonly int _dims, _ws, _neg, _nwords;
    private readonly int[] _line = new int[MaxLineSize + 1];
    private readonly float[] _hidden, _grad, _scores;
    private readonly int[] _bag;
    private readonly int[] _subOffsets, _subRows;
    private readonly NegativeSamplingStep<RedrawCollision> _nsStep;
    private readonly HierarchicalSoftmaxStep<KeepSaturated> _hsStep;
    private readonly bool _cbow;
    private readonly FastTextTrainingLoss _loss;
    private float _lr;
    private long _pending, _sinceSync;
    private double _lossSum;
    private long _lossCount;

    public FastTextWorker(FastTextShared s, TrainingRun run, SeededRandom random)
    {
        _s = s;
        _run = run;
        // A generator allocated by this worker's own thread: the parent's forks sit next to each other on the
        // heap, and two threads advancing states in one cache line would slow each other down (false sharing).
        _random = new SeededRandom(random.NextUInt64());
        _wi = TableRows.Base(s.Input);
        _wo = TableRows.Base(s.Output);
        _dims = s.Options.Dims;
        _ws = s.Options.WindowSize;
        _neg = s.Options.Neg;
        _nwords = s.Vocabulary.Count;
        _hidden = new float[_dims];
        _grad = new float[_dims];
        _scores = new float[s.Options.Loss == FastTextTrainingLoss.Softmax ? _nwords : 1];
        _subOffsets = s.SubwordOffsets;
        _subRows = s.SubwordRows;
        int maxSub = 0;
        for (int i = 0; i < _nwords; i++)
            maxSub = Math.Max(maxSub, _subOffsets[i + 1] - _subOffsets[i]);
        _bag = new int[s.Options.Model == FastTextTrainingModel.Cbow ? 2 * _ws * maxSub : 0];
        if (s.Sampler is not null)
            _nsStep = new(s.Sampler, _wo, _dims, _neg, _nwords);
        if (s.Tree is not null)
            _hsStep = new(s.Tree, _wo, _dims);
        _cbow = s.Options.Model == FastTextTrainingModel.Cbow;
        _loss = s.Options.Loss;
        _lr = run.InitialRate;
    }

    public int Run(TextCorpus corpus)
    {
        int epoch = 0;
        for (; epoch < _s.Options.Epoch && !_run.Stopped; epoch++)
        {
            int chunk;
            while (!_run.Stopped && (chunk = _run.NextChunk(epoch)) >= 0)
            {
                using var cursor = corpus.Open(chunk, _run.Chunks);
                TrainChunk(cursor, epoch);
            }
            if (_run.Stopped)
                break;
            SyncNow(epoch);
        }
        if (_sinceSync + _pending > 0 || _lossCount > 0)
            SyncNow(Math.Min(epoch, _s.Options.Epoch - 1));
        return epoch;
    }

    private void SyncNow(int epoch)
    {
        _lr = _run.Sync(_sinceSync + _pending, _lossSum, _lossCount, epoch);
        _sinceSync = _pending = 0;
        _lossSum = 0;
        _lossCount = 0;
    }

    private void TrainChunk(CorpusCursor cursor, int epoch)
    {
        Vocabulary vocab = _s.Vocabulary;
        uint[] keep = _s.Keep;
        int rate = _s.Options.LrUpdateRate;
        while (!_run.Stopped && cursor.NextLine())
        {
            int n = 0;
            bool more = true;
            while (more)
            {
                int id;
                if (cursor.NextToken(out ReadOnlySpan<char> token))
                {
                    if (!vocab.TryGetId(token, out id))
                        continue;
                }
                else
                {
                    more = false; // the line's end: fastText's </s> word
                    id = _s.EndOfLineId;
                    if (id < 0)
                        break;
                }
                _pending++;
                uint t = keep[id];
                if (t == uint.MaxValue || (uint)(_random.NextUInt64() >> 32) < t)
                    _line[n++] = id;
                if (n == MaxLineSize)
                {
                    TrainLine(n);
                    n = 0;
                }
            }
            if (n > 0)
                TrainLine(n);
            if (_pending > rate)
            {
                // fastText refreshes lr every lrUpdateRate tokens; the shared counter is touched less often.
                _sinceSync += _pending;
                _pending = 0;
                if (_sinceSync >= 10_000)
                    SyncNow(epoch);
                else
                    _lr = (float)(_s.Options.LearningRate * Math.Max(0, 1 - (double)(_run.WordsProcessed + _sinceSync) / _run.TotalWords));
            }
        }
    }

    private int Boundary() => 1 + (int)(((_random.NextUInt64() >> 32) * (ulong)_ws) >> 32); // uniform in 1 … ws

    private void TrainLine(int n)
    {
        fixed (int* line = _line, subRows = _subRows, bag = _bag)
        fixed (float* h = _hidden, g = _grad)
        {
            if (_cbow)
            {
                for (int w = 0; w < n; w++)
                {
                    int b = Boundary();
                    int count = 0;
                    for (int c = -b; c <= b; c++)
                    {
                        int p = w + c;
                        if (c == 0 || p < 0 || p >= n)
                            continue;
                        int from = _subOffsets[line[p]], to = _subOffsets[line[p] + 1];
                        for (int k = from; k < to; k++)
                            bag[count++] = subRows[k];
                    }
                    if (count == 0)
                        continue;
                    Update(bag, count, line[w], h, g);
                }
            }
            else
            {
                for (int w = 0; w < n; w++)
                {
                    int b = Boundary();
                    int from = _subOffsets[line[w]], to = _subOffsets[line[w] + 1];
                    int* rows = subRows + from;
                    int count = to - from;
                    Hidden(rows, count, h);
                    for (int c = -b; c <= b; c++)
                    {
                        int p = w + c;
                        if (c == 0 || p < 0 || p >= n)
                            continue;
                        new Span<float>(g, _dims).Clear();
                        OutputStep(line[p], h, g);
                        for (int k = 0; k < count; k++)
                            VectorMath.Add(g, _wi + (long)rows[k] * _dims, _dims);
                        VectorMath.Add(g, h, _dims); // every row moved by g, so their mean did too
                    }
                }
            }
        }
    }

    private void Hidden(int* rows, int count, float* h)
    {
        new Span<float>(h, _dims).Clear();
        for (int k = 0; k < count; k++)
            VectorMath.Add(_wi + (long)rows[k] * _dims, h, _dims);
        VectorMath.Scale(1f / count, h, _dims);
    }

    private void Update(int* rows, int count, int target, float* h, float* g)
    {
        Hidden(rows, count, h);
        new Span<float>(g, _dims).Clear();
        OutputStep(target, h, g);
        for (int k = 0; k < count; k++)
            VectorMath.Add(g, _wi + (long)rows[k] * _dims, _dims);
    }

    private void OutputStep(int target, float* h, float* g)
    {
        int dims = _dims;
        float lr = _lr;
        double loss = 0;
        switch (_loss)
        {
            case FastTextTrainingLoss.NegativeSampling:
                _nsStep.Apply(target, h, g, lr, _random, ref loss);
                break;
            case FastTextTrainingLoss.HierarchicalSoftmax:
                _hsStep.Apply(target, h, g, lr, ref loss);
                break;
            default:
                fixed (float* scores = _scores)
                    loss += Softmax.FullStep(h, _wo, null, _nwords, dims, target, lr, g, scores);
                break;
        }
        _lossSum += loss;
        _lossCount++;
    }
}
