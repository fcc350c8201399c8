using EmbedSharp.Models.Data;

namespace EmbedSharp.Models.Tests.Data;

public sealed class MovieLensTests
{
    [Fact]
    public void ReadRatings_ParsesTabSeparatedLines()
    {
        var d = MovieLens.ReadRatings(new StringReader("196\t242\t3\t881250949\n\n186\t302\t4.5\t891717742\n"), "u.data");
        Assert.Equal(2, d.Count);
        Assert.Equal([196, 186], d.Users);
        Assert.Equal([3f, 4.5f], d.Ratings);
        Assert.Equal(891717742, d.Timestamps[1]);
    }

    [Theory]
    [InlineData("1\t2\t3\t4\n5\t6\t9\t7\n", "[movielens.ratings] u.data line 2 column 3: rating 9 is outside 1..5")]
    [InlineData("1\t2\tx\t4\n", "[movielens.ratings] u.data line 1 column 3: rating 'x' is not a number")]
    [InlineData("1\tfoo\t3\t4\n", "[movielens.ratings] u.data line 1 column 2: item id 'foo' is not a non-negative integer")]
    [InlineData("1\t2\n", "[movielens.ratings] u.data line 1 column 3: expected user<TAB>item<TAB>rating<TAB>timestamp but found 2 field(s)")]
    [InlineData("1\t2\t3\tt\n", "[movielens.ratings] u.data line 1 column 4: timestamp 't' is not an integer")]
    public void ReadRatings_NamesFileLineAndColumnOfABadField(string text, string message)
    {
        var ex = Assert.Throws<DataFormatException>(() => MovieLens.ReadRatings(new StringReader(text), "u.data"));
        Assert.Equal(message, ex.Message);
    }

    [Fact]
    public void ReadRatings_PairsWithoutRating()
    {
        var d = MovieLens.ReadRatings(new StringReader("1\t2\n3\t4\t99\n"), "pairs", requireRating: false);
        Assert.Equal([2, 4], d.Items);
    }

    [Fact]
    public void Splits_AreSeededAndLeaveLastOutTakesTheLatest()
    {
        var d = new RatingData([1, 1, 1, 2, 2, 3], [10, 11, 12, 10, 13, 14], [5, 4, 3, 2, 1, 5], [5, 9, 7, 1, 2, 3]);
        var (train, test) = d.LeaveLastOut();
        Assert.Equal([11, 13], test.Items);
        Assert.Equal(4, train.Count);
        var (a, b) = d.KFold(3, 0, 7);
        var (a2, b2) = d.KFold(3, 0, 7);
        Assert.Equal(b.Items, b2.Items);
        Assert.Equal(6, a.Count + b.Count);
        var all = Enumerable.Range(0, 3).SelectMany(f => d.KFold(3, f, 7).Test.Items).Order();
        Assert.Equal(d.Items.Order(), all);
        Assert.Equal(3, d.Positives(4).Count);
    }

    [Fact]
    public void RealMovieLens_LoadsWhenPresent()
    {
        string dir = Path.Combine(RepositoryRoot.Path, "..", "shared", "data", "recsys", "ml-100k");
        string path = Path.Combine(dir, "u.data");
        if (!File.Exists(path))
        {
            Console.WriteLine($"skipped: MovieLens-100K not found at {path} (its licence forbids shipping it; put it at ../shared/data/recsys/ml-100k)");
            return;
        }
        using var reader = File.OpenText(path);
        var d = MovieLens.ReadRatings(reader, "u.data");
        Assert.Equal(100_000, d.Count);
        Assert.Equal(943, d.Users.Distinct().Count());
        using var users = File.OpenText(Path.Combine(dir, "u.user"));
        Assert.Equal(943, MovieLens.ReadUsers(users, "u.user").Count);
    }
    [Fact]
    public void ReadItems_ParsesYearAndGenresAndNamesBadFields()
    {
        string flags = string.Join("|", Enumerable.Range(0, 19).Select(g => g is 3 or 4 ? "1" : "0"));
        var items = MovieLens.ReadItems(new StringReader($"1|Toy Story (1995)|01-Jan-1995||http://x|{flags}\n\n267|unknown||||{flags}\n"), "u.item");
        Assert.Equal(2, items.Count);
        Assert.Equal(1995, items[0].Year);
        Assert.Null(items[1].Year);
        Assert.Equal([3, 4], items[0].Genres);
        string badFlag = string.Join("|", Enumerable.Range(0, 19).Select(g => g == 2 ? "x" : "0"));
        var ex = Assert.Throws<DataFormatException>(() => MovieLens.ReadItems(new StringReader($"1|a|01-Jan-1995||u|{flags}\n2|b|01-Jan-1995||u|{badFlag}\n"), "u.item"));
        Assert.Equal("[movielens.items] u.item line 2 column 8: genre flag 'x' is not 0 or 1", ex.Message);
        ex = Assert.Throws<DataFormatException>(() => MovieLens.ReadItems(new StringReader("1|a|b\n"), "u.item"));
        Assert.StartsWith("[movielens.items] u.item line 1 column 4: expected id|title", ex.Message);
        ex = Assert.Throws<DataFormatException>(() => MovieLens.ReadItems(new StringReader($"1|a|Jan-19x5||u|{flags}\n"), "u.item"));
        Assert.Contains("line 1 column 3: release date", ex.Message);
        ex = Assert.Throws<DataFormatException>(() => MovieLens.ReadItems(new StringReader($"1|a|||u|{flags}\n1|b|||u|{flags}\n"), "u.item"));
        Assert.Equal("[movielens.items] u.item line 2 column 1: item 1 is listed twice", ex.Message);
    }

    [Fact]
    public void RecencyWeighted_GivesEachUsersLatestInteractionsTheBoost()
    {
        // User 1: times 5, 9, 7 (and a tie at 9 on a later line); user 2: 1, 2.
        var d = new RatingData([1, 1, 1, 2, 2, 1], [10, 11, 12, 10, 13, 14], [5, 4, 3, 2, 1, 5], [5, 9, 7, 1, 2, 9]);
        var w = d.RecencyWeighted(halfLife: 1, boost: 2);
        // User 1 by recency: line 6 (t 9, later line), line 2 (t 9), line 3 (t 7), line 1 (t 5).
        Assert.Equal([1 + 2 * 0.125f, 1 + 2 * 0.5f, 1 + 2 * 0.25f, 1 + 2 * 0.5f, 3f, 3f], w.Ratings);
        Assert.Equal(d.Items, w.Items);
        Assert.Equal([5f, 4, 3, 2, 1, 5], d.Ratings); // the source is untouched
        Assert.Throws<ArgumentOutOfRangeException>(() => d.RecencyWeighted(0, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => d.RecencyWeighted(1, -1));
    }
}
