using EmbedSharp.Formats.FastText;
using EmbedSharp.Training.FastText;

/// <summary>
/// Saves a <see cref="FastTextTrainedModel"/> as a fastText <c>.bin</c> through EmbedSharp.Formats
/// (<see cref="FastTextModel.FromParts"/>): the options' <see cref="FastTextOptions.StoredArgs"/> are
/// core's <c>FastTextArgs</c>, which Formats writes as they are.
/// </summary>
static class FastTextBin
{
    public static void Write(string path, FastTextTrainedModel trained)
    {
        using var model = FastTextModel.FromParts(trained.Args.StoredArgs, trained.Words, trained.Counts.ToArray(), trained.NumTokens, trained.Input, trained.Output);
        model.Save(path);
    }
}
