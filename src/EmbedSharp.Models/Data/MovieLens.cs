using System.Globalization;
using EmbedSharp.Diagnostics;

namespace EmbedSharp.Models.Data;

/// <summary>
/// Readers for the MovieLens-100K files. The data's licence forbids redistribution, so nothing here
/// ships it: callers pass a reader over the user's own copy (the CLI takes a path).
/// </summary>
public static class MovieLens
{
    /// <summary>
    /// Reads ratings in <c>u.data</c> form: <c>user TAB item TAB rating TAB timestamp</c> per line (the
    /// timestamp may be missing; blank lines are skipped). Ratings must lie in
    /// [<paramref name="minRating"/>, <paramref name="maxRating"/>].
    /// </summary>
    /// <param name="reader">The text.</param>
    /// <param name="source">The file name, for messages.</param>
    /// <param name="minRating">Smallest valid rating.</param>
    /// <param name="maxRating">Largest valid rating.</param>
    /// <param name="requireRating">When false the rating column may be missing (read as 0): <c>rec predict</c>'s pairs.</param>
    /// <exception cref="DataFormatException">A malformed line, naming the line and column.</exception>
    public static RatingData ReadRatings(TextReader reader, string source, float minRating = 1, float maxRating = 5, bool requireRating = true)
    {
        const string op = "movielens.ratings";
        Guard.NotNull(op, reader);
        Guard.NotNull(op, source);
        var users = new List<int>();
        var items = new List<int>();
        var ratings = new List<float>();
        var times = new List<long>();
        long lineNumber = 0;
        string? line;
        while ((line = reader.ReadLine()) is not null)
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line))
                continue;
            string[] f = line.Split('\t');
            if (f.Length == 1 && line.Contains(' '))
                f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            int needed = requireRating ? 3 : 2;
            if (f.Length < needed || f.Length > 4)
                throw new DataFormatException(op, source, lineNumber, Math.Min(f.Length + 1, 5),
                    $"expected user<TAB>item<TAB>rating<TAB>timestamp but found {f.Length} field(s)");
            users.Add(ParseId(op, source, lineNumber, 1, f[0], "user"));
            items.Add(ParseId(op, source, lineNumber, 2, f[1], "item"));
            float rating = 0;
            if (f.Length >= 3 && requireRating)
            {
                if (!float.TryParse(f[2], NumberStyles.Float, CultureInfo.InvariantCulture, out rating) || !float.IsFinite(rating))
                    throw new DataFormatException(op, source, lineNumber, 3, $"rating '{Clip(f[2])}' is not a number");
                if (rating < minRating || rating > maxRating)
                    throw new DataFormatException(op, source, lineNumber, 3, $"rating {rating} is outside {minRating}..{maxRating}");
            }
            ratings.Add(rating);
            long time = 0;
            if (f.Length == 4 && !long.TryParse(f[3], NumberStyles.Integer, CultureInfo.InvariantCulture, out time))
                throw new DataFormatException(op, source, lineNumber, 4, $"timestamp '{Clip(f[3])}' is not an integer");
            times.Add(time);
        }
        return new RatingData([.. users], [.. items], [.. ratings], [.. times]);
    }

    /// <summary>A user of <c>u.user</c>.</summary>
    public readonly record struct User(int Id, int Age, string Gender, string Occupation, string ZipCode);

    /// <summary>Reads <c>u.user</c>: <c>id|age|gender|occupation|zip</c>.</summary>
    /// <exception cref="DataFormatException">A malformed line.</exception>
    public static IReadOnlyList<User> ReadUsers(TextReader reader, string source)
    {
        const string op = "movielens.users";
        Guard.NotNull(op, reader);
        var result = new List<User>();
        long lineNumber = 0;
        string? line;
        while ((line = reader.ReadLine()) is not null)
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line))
                continue;
            string[] f = line.Split('|');
            if (f.Length != 5)
                throw new DataFormatException(op, source, lineNumber, Math.Min(f.Length + 1, 6), $"expected id|age|gender|occupation|zip but found {f.Length} field(s)");
            int id = ParseId(op, source, lineNumber, 1, f[0], "user");
            if (!int.TryParse(f[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out int age) || age < 0 || age > 150)
                throw new DataFormatException(op, source, lineNumber, 2, $"age '{Clip(f[1])}' is not an integer in 0..150");
            result.Add(new User(id, age, f[2], f[3], f[4]));
        }
        return result;
    }

    /// <summary>A movie of <c>u.item</c>: id, title, release year (null when the date is missing) and its genre indices (0..18, ascending).</summary>
    public sealed record Item(int Id, string Title, int? Year, int[] Genres);

    /// <summary>Genres per <c>u.item</c> line (MovieLens-100K's 19 flags, <c>u.genre</c>'s order).</summary>
    public const int GenreCount = 19;

    /// <summary>
    /// Reads <c>u.item</c>: <c>id|title|release date|video release date|IMDb URL|</c> then 19 genre flags
    /// (0 or 1). The file is Latin-1; open it with that encoding. The year is the release date's last four
    /// digits (dates read <c>01-Jan-1995</c>).
    /// </summary>
    /// <exception cref="DataFormatException">A malformed line, naming the line and column.</exception>
    public static IReadOnlyList<Item> ReadItems(TextReader reader, string source)
    {
        const string op = "movielens.items";
        Guard.NotNull(op, reader);
        Guard.NotNull(op, source);
        var result = new List<Item>();
        var seen = new HashSet<int>();
        long lineNumber = 0;
        string? line;
        while ((line = reader.ReadLine()) is not null)
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line))
                continue;
            string[] f = line.Split('|');
            if (f.Length != 5 + GenreCount)
                throw new DataFormatException(op, source, lineNumber, Math.Min(f.Length + 1, 5 + GenreCount + 1),
                    $"expected id|title|release date|video date|url and {GenreCount} genre flags ({5 + GenreCount} fields) but found {f.Length}");
            int id = ParseId(op, source, lineNumber, 1, f[0], "item");
            if (!seen.Add(id))
                throw new DataFormatException(op, source, lineNumber, 1, $"item {id} is listed twice");
            int? year = null;
            string date = f[2].Trim();
            if (date.Length > 0)
            {
                if (date.Length < 4 || !int.TryParse(date.AsSpan(date.Length - 4), NumberStyles.None, CultureInfo.InvariantCulture, out int y) || y < 1800 || y > 2100)
                    throw new DataFormatException(op, source, lineNumber, 3, $"release date '{Clip(date)}' does not end in a year 1800..2100 (e.g. 01-Jan-1995)");
                year = y;
            }
            var genres = new List<int>();
            for (int g = 0; g < GenreCount; g++)
            {
                string flag = f[5 + g].Trim();
                if (flag == "1")
                    genres.Add(g);
                else if (flag != "0")
                    throw new DataFormatException(op, source, lineNumber, 6 + g, $"genre flag '{Clip(flag)}' is not 0 or 1");
            }
            result.Add(new Item(id, f[1], year, [.. genres]));
        }
        return result;
    }

    private static int ParseId(string op, string source, long line, int column, string text, string what)
    {
        if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int id) || id < 0)
            throw new DataFormatException(op, source, line, column, $"{what} id '{Clip(text)}' is not a non-negative integer");
        return id;
    }

    /// <summary>
    /// Side features of each user for <see cref="Recommenders.RecommenderKind.BayesianMf"/>: <c>gender=…</c>,
    /// <c>occupation=…</c>, <c>age=…</c> (decade, 60+ together) and <c>zip=…</c> (the zip code's first character,
    /// a broad region), keyed by user id.
    /// </summary>
    public static Dictionary<int, IReadOnlyList<string>> UserFeatures(IEnumerable<User> users) =>
        users.ToDictionary(u => u.Id, u => (IReadOnlyList<string>)[$"gender={u.Gender}", $"occupation={u.Occupation}",
            $"age={Math.Clamp(u.Age / 10, 0, 6)}", $"zip={(u.ZipCode.Length > 0 ? u.ZipCode[..1] : "?")}"]);

    /// <summary>Side features of each movie for <see cref="Recommenders.RecommenderKind.BayesianMf"/>: <c>genre=g</c> per genre flag (u.genre's index), keyed by item id.</summary>
    public static Dictionary<int, IReadOnlyList<string>> ItemFeatures(IEnumerable<Item> items) =>
        items.ToDictionary(i => i.Id, i => (IReadOnlyList<string>)[.. i.Genres.Select(g => $"genre={g}")]);

    private static string Clip(string s) => s.Length <= 40 ? s : s[..40] + "…";
}
