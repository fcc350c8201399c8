using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using EmbedSharp.Numerics;
using EmbedSharp.Tables;
using EmbedSharp.Training.Common;
using EmbedSharp.Training.Losses;
using EmbedSharp.Vocabularies;

namespace EmbedSharp.Training.Word2Vec;

/// <summary>
/// One Hogwild worker: its own generator, sentence buffer and hidden/error rows; reads the chunks it claims of the
/// corpus each epoch and updates the shared tables in place. Nothing is allocated per word.
/// </summary>
internal sealed unsafe class Word2VecWorker
{
    private const int SyncEvery = 10_000;
    private readonly Word2VecOptions _o;
    private readonly Vocabulary _vocab;
    private readonly float* _syn0, _syn1neg, _syn1;
    private readonly int _dims, _window, _negative;
    private readonly bool _hs, _cbow, _mean;
    private readonly NegativeSamplingStep<SkipCollision> _nsStep;
    private readonly HierarchicalSoftmaxStep<SkipSaturated> _hsStep;
    private readonly int[] _sentence;
    private readonly uint[] _keep;
    private readonly float[] _hidden, _error;
    private readonly TrainingRun _run;
    private readonly SeededRandom _random;
    private float _alpha;
    private double _loss;
    private long _pairs;

    public Word2VecWorker(Word2VecOptions o, Vocabulary vocab, EmbeddingTable input, EmbeddingTable? outputNeg, EmbeddingTable? outputHs,
        HuffmanTree? tree, NegativeSampler? sampler, uint[] keep, TrainingRun run, SeededRandom random)
    {
        _o = o;
        _vocab = vocab;
        _dims = o.Dims;
        _window = o.Window;
        _negative = o.Negative;
        _hs = tree is not null;
        _cbow = o.Architecture == Word2VecArchitecture.Cbow;
        _mean = o.CbowReduction == CbowReduction.Mean;
        // The tables live in native memory that never moves, so raw row pointers stay valid for the whole run.
        _syn0 = TableRows.Base(input);
        _syn1neg = outputNeg is null ? null : TableRows.Base(outputNeg);
        _syn1 = outputHs is null ? null : TableRows.Base(outputHs);
        if (sampler is not null)
            _nsStep = new(sampler, _syn1neg, _dims, _negative, vocab.Count);
        if (tree is not null)
            _hsStep = new(tree, _syn1, _dims);
        _keep = keep;
        _sentence = new int[o.MaxSentenceLength];
        _hidden = new float[_dims];
        _error = new float[_dims];
        _run = run;
        // A generator allocated by this worker's own thread: the parent's forks sit next to each other on the
        // heap, and two threads advancing states in one cache line would slow each other down (false sharing).
        _random = new SeededRandom(random.NextUInt64());
        _alpha = run.InitialRate;
    }

    /// <summary>Trains all epochs, pulling chunks of the corpus from the run; returns the number of epochs finished.</summary>
    public int Run(TextCorpus corpus)
    {
        long pending = 0;
        int epoch = 0;
        for (; epoch < _o.Epochs && !_run.Stopped; epoch++)
        {
            int chunk;
            while (!_run.Stopped && (chunk = _run.NextChunk(epoch)) >= 0)
            {
                using var cursor = corpus.Open(chunk, _run.Chunks);
                while (!_run.Stopped && cursor.NextLine())
                {
                    int n = 0;
                    while (cursor.NextToken(out ReadOnlySpan<char> token))
                    {
                        if (!_vocab.TryGetId(token, out int id))
                            continue;
                        pending++;
                        uint t = _keep[id];
                        if (t != uint.MaxValue && (uint)(_random.NextUInt64() >> 32) >= t)
                            continue;
                        _sentence[n++] = id;
                        if (n == _sentence.Length)
                        {
                            TrainSentence(n);
                            n = 0;
                        }
                    }
                    if (n > 1)
                        TrainSentence(n);
                    if (pending >= SyncEvery)
                    {
                        _alpha = _run.Sync(pending, _loss, _pairs, epoch);
                        pending = 0;
                        _loss = 0;
                        _pairs = 0;
                    }
                }
            }
            if (_run.Stopped)
                break;
            _alpha = _run.Sync(pending, _loss, _pairs, epoch);
            pending = 0;
            _loss = 0;
            _pairs = 0;
        }
        if (pending > 0 || _pairs > 0)
            _run.Sync(pending, _loss, _pairs, Math.Min(epoch, _o.Epochs - 1));
        return epoch;
    }

    private void TrainSentence(int n)
    {
        fixed (int* sen = _sentence)
        fixed (float* h = _hidden, e = _error)
        {
            for (int pos = 0; pos < n; pos++)
            {
                int word = sen[pos];
                int b = (int)(((_random.NextUInt64() >> 32) * (ulong)_window) >> 32); // shrink the window by b
                int start = Math.Max(0, pos - _window + b);
                int end = Math.Min(n, pos + _window - b + 1);
                if (_cbow)
                {
                    new Span<float>(h, _dims).Clear();
                    int cw = 0;
                    for (int c = start; c < end; c++)
                    {
                        if (c == pos)
                            continue;
                        VectorMath.Add(_syn0 + (long)sen[c] * _dims, h, _dims);
                        cw++;
                    }
                    if (cw == 0)
                        continue;
                    if (_mean)
                        VectorMath.Scale(1f / cw, h, _dims);
                    new Span<float>(e, _dims).Clear();
                    Output(word, h, e);
                    for (int c = start; c < end; c++)
                    {
                        if (c != pos)
                            VectorMath.Add(e, _syn0 + (long)sen[c] * _dims, _dims);
                    }
                }
                else
                {
                    for (int c = start; c < end; c++)
                    {
                        if (c == pos)
                            continue;
                        float* l1 = _syn0 + (long)sen[c] * _dims;
                        new Span<float>(e, _dims).Clear();
                        Output(word, l1, e);
                        VectorMath.Add(e, l1, _dims);
                    }
                }
            }
        }
    }

    /// <summary>The output layer for one (hidden, target) pair: updates output rows, accumulates the hidden error in e.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Output(int word, float* l1, float* e)
    {
        double loss = 0;
        if (_hs)
            _hsStep.Apply(word, l1, e, _alpha, ref loss);
        if (_negative > 0)
            _nsStep.Apply(word, l1, e, _alpha, _random, ref loss);
        _loss += loss;
        _pairs++;
    }
}
