using EmbedSharp.Formats.FastText;
using EmbedSharp.Training.FastText;

/// <summary>
/// Saves a <see cref="FastTextTrainedModel"/> as a fastText <c>.bin</c> through EmbedSharp.Formats
/// (<see cref="FastTextModel.FromParts"/>): Training's plain data maps field by field onto
/// <see cref="FastTextArgs"/>, and the two enums share fastText's codes.
/// </summary>
static class FastTextBin
{
    public static void Write(string path, FastTextTrainedModel trained)
    {
        var a = trained.Args;
        var args = new FastTextArgs
        {
            Dims = a.Dims, WindowSize = a.WindowSize, Epoch = a.Epoch, MinCount = a.MinCount, Neg = a.Neg, WordNgrams = a.WordNgrams,
            Loss = (FastTextLoss)(int)a.Loss, Model = (FastTextModelKind)(int)a.Model, Bucket = a.EffectiveBucket, Minn = a.Minn, Maxn = a.Maxn,
            LrUpdateRate = a.LrUpdateRate, SamplingThreshold = a.SamplingThreshold,
        };
        using var model = FastTextModel.FromParts(args, trained.Words, trained.Counts.ToArray(), trained.NumTokens, trained.Input, trained.Output);
        model.Save(path);
    }
}
