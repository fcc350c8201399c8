using System.Diagnostics;
using EmbedSharp.Diagnostics;
using EmbedSharp.Optimizers;

namespace EmbedSharp.Training.Common;

/// <summary>
/// Shared state of one multi-threaded (Hogwild) run: the global word counter that drives the linear
/// learning-rate decay, cancellation, the NaN stop, progress reports and per-epoch losses. Workers
/// call <see cref="Sync"/> every few thousand words; nothing here is touched per word.
/// </summary>
internal sealed class TrainingRun
{
    private readonly object _gate = new();
    private readonly string _trainer;
    private readonly IProgress<TrainingProgress>? _progress;
    private readonly long _reportEvery;
    private readonly CancellationToken _cancellation;
    private readonly LinearDecay _decay;
    private readonly double[] _epochLoss;
    private readonly long[] _epochPairs;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private long _words;
    private long _nextReport;
    private double _intervalLoss;
    private long _intervalPairs;
    private double _lastLoss = double.NaN;
    private volatile bool _stop;
    private Exception? _failure;

    public TrainingRun(string trainer, int threads, int epochs, long wordsPerEpoch, LinearDecay decay,
        IProgress<TrainingProgress>? progress, long reportEvery, CancellationToken cancellation, bool seekableCorpus = true)
    {
        _trainer = trainer;
        Threads = threads;
        // One thread reads the corpus front to back (deterministic). Several threads pull byte-range chunks
        // from a shared counter, so a thread whose part of the text is cheaper does not sit idle while the
        // others finish (static shards made two threads barely faster than one). A non-seekable corpus is
        // split into one line-interleaved part per thread, since each part costs a full read.
        Chunks = threads == 1 ? 1 : seekableCorpus ? threads * 16 : threads;
        _nextChunk = new int[epochs];
        Epochs = epochs;
        TotalWords = Math.Max(1, checked(wordsPerEpoch * epochs));
        _decay = decay;
        _progress = progress;
        _reportEvery = Math.Max(1, reportEvery);
        _nextReport = _reportEvery;
        _cancellation = cancellation;
        _epochLoss = new double[epochs];
        _epochPairs = new long[epochs];
    }

    public int Threads { get; }
    public int Chunks { get; }
    private readonly int[] _nextChunk;

    /// <summary>The next unclaimed chunk of epoch <paramref name="epoch"/>, or −1 when all are claimed.</summary>
    public int NextChunk(int epoch)
    {
        int c = Interlocked.Increment(ref _nextChunk[epoch]) - 1;
        return c < Chunks ? c : -1;
    }
    public int Epochs { get; }
    public long TotalWords { get; }
    public bool Stopped => _stop;
    public long WordsProcessed => Interlocked.Read(ref _words);
    public float InitialRate => _decay.RateAt(0, TotalWords);

    /// <summary>Adds a worker's words and loss since its last call; returns the learning rate to use next.</summary>
    public float Sync(long words, double lossSum, long lossPairs, int epoch)
    {
        long total = Interlocked.Add(ref _words, words);
        float lr = _decay.RateAt(total, TotalWords);
        if (_cancellation.IsCancellationRequested)
            _stop = true;
        if (lossPairs > 0 && !double.IsFinite(lossSum))
        {
            Fail(new NonFiniteException(Diagnostics.ThrowHelper.Format(_trainer + ".train",
                $"the loss became {lossSum} after {total} words (epoch {epoch + 1}); lower the learning rate (now {lr}) or check the input"), total, -1, -1));
            return lr;
        }
        lock (_gate)
        {
            _intervalLoss += lossSum;
            _intervalPairs += lossPairs;
            _epochLoss[epoch] += lossSum;
            _epochPairs[epoch] += lossPairs;
            if (total >= _nextReport)
            {
                _nextReport = (total / _reportEvery + 1) * _reportEvery;
                if (_intervalPairs > 0)
                    _lastLoss = _intervalLoss / _intervalPairs;
                _intervalLoss = 0;
                _intervalPairs = 0;
                _progress?.Report(new TrainingProgress(_trainer, "train",
                    Math.Min(Epochs, (int)(total * Epochs / TotalWords) + 1),
                    Math.Min(1.0, (double)total / TotalWords), lr, _lastLoss, total, _clock.Elapsed));
            }
        }
        return lr;
    }

    public void Fail(Exception e)
    {
        lock (_gate)
            _failure ??= e;
        _stop = true;
    }

    /// <summary>Runs <paramref name="body"/>(thread) on dedicated threads and waits for all; rethrows the first failure.</summary>
    public void RunWorkers(Action<int> body)
    {
        if (Threads == 1)
        {
            Guarded(0);
        }
        else
        {
            var threads = new Thread[Threads];
            for (int t = 0; t < Threads; t++)
            {
                int id = t;
                threads[t] = new Thread(() => Guarded(id)) { IsBackground = true, Name = $"{_trainer}-worker-{t}" };
                threads[t].Start();
            }
            foreach (var th in threads)
                th.Join();
        }
        _clock.Stop();
        if (_failure is not null)
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(_failure).Throw();

        void Guarded(int id)
        {
            try
            {
                body(id);
            }
            catch (Exception e)
            {
                Fail(e);
            }
        }
    }

    public TrainingSummary Summary(int epochsCompleted)
    {
        var losses = new List<double>();
        for (int e = 0; e < Epochs; e++)
            if (_epochPairs[e] > 0)
                losses.Add(_epochLoss[e] / _epochPairs[e]);
        if (_intervalPairs > 0)
            _lastLoss = _intervalLoss / _intervalPairs;
        bool cancelled = _cancellation.IsCancellationRequested && epochsCompleted < Epochs;
        _progress?.Report(new TrainingProgress(_trainer, "train", Math.Max(1, epochsCompleted), Math.Min(1.0, (double)WordsProcessed / TotalWords),
            _decay.RateAt(WordsProcessed, TotalWords), _lastLoss, WordsProcessed, _clock.Elapsed));
        return new TrainingSummary(cancelled, epochsCompleted, WordsProcessed, _clock.Elapsed, _lastLoss, Threads, losses);
    }
}
