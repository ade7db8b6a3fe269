package sandbox

import "github.com/vppkit/terraform-provider-vpp/internal/applesim"

// Catalog is the set of sample books every new sandbox location holds: classics with real titles
// and authors, several languages and genres, and license counts from plenty to nearly exhausted,
// so that data sources, shortages and oversubscription all have something to show.
func Catalog() []applesim.BookSpec {
	return []applesim.BookSpec{
		{AdamID: "1590000001", Title: "Pride and Prejudice", Author: "Jane Austen", Genres: []string{"Fiction & Literature", "Romance"}, Language: "en", Licenses: 50},
		{AdamID: "1590000002", Title: "Moby-Dick", Author: "Herman Melville", Genres: []string{"Fiction & Literature"}, Language: "en", Licenses: 25},
		{AdamID: "1590000003", Title: "Frankenstein", Author: "Mary Shelley", Genres: []string{"Sci-Fi & Fantasy"}, Language: "en", Licenses: 40},
		{AdamID: "1590000004", Title: "The Adventures of Sherlock Holmes", Author: "Arthur Conan Doyle", Genres: []string{"Mysteries & Thrillers"}, Language: "en", Licenses: 30},
		{AdamID: "1590000005", Title: "Dracula", Author: "Bram Stoker", Genres: []string{"Fiction & Literature", "Mysteries & Thrillers"}, Language: "en", Licenses: 3},
		{AdamID: "1590000006", Title: "Alice's Adventures in Wonderland", Author: "Lewis Carroll", Genres: []string{"Kids"}, Language: "en", Licenses: 120},
		{AdamID: "1590000007", Title: "The Art of War", Author: "Sun Tzu", Genres: []string{"History"}, Language: "en", Licenses: 15},
		{AdamID: "1590000008", Title: "On the Origin of Species", Author: "Charles Darwin", Genres: []string{"Science & Nature"}, Language: "en", Licenses: 10},
		{AdamID: "1590000009", Title: "Meditations", Author: "Marcus Aurelius", Genres: []string{"Religion & Spirituality"}, Language: "en", Licenses: 8},
		{AdamID: "1590000010", Title: "The Wealth of Nations", Author: "Adam Smith", Genres: []string{"Business & Personal Finance"}, Language: "en", Licenses: 12},
		{AdamID: "1590000011", Title: "Don Quijote de la Mancha", Author: "Miguel de Cervantes", Genres: []string{"Fiction & Literature"}, Language: "es", Licenses: 20},
		{AdamID: "1590000012", Title: "Les Misérables", Author: "Victor Hugo", Genres: []string{"Fiction & Literature"}, Language: "fr", Licenses: 18},
		{AdamID: "1590000013", Title: "Die Verwandlung", Author: "Franz Kafka", Genres: []string{"Fiction & Literature"}, Language: "de", Licenses: 2},
		{AdamID: "1590000014", Title: "Anna Karenina", Author: "Leo Tolstoy", Genres: []string{"Fiction & Literature"}, Language: "en", Licenses: 22},
		{AdamID: "1590000015", Title: "The Time Machine", Author: "H. G. Wells", Genres: []string{"Sci-Fi & Fantasy"}, Language: "en", Licenses: 35},
		{AdamID: "1590000016", Title: "A Study in Scarlet", Author: "Arthur Conan Doyle", Genres: []string{"Mysteries & Thrillers"}, Language: "en", Licenses: 1},
		{AdamID: "1590000017", Title: "The Elements of Style", Author: "William Strunk Jr.", Genres: []string{"Reference"}, Language: "en", Licenses: 200},
		{AdamID: "1590000018", Title: "Relativity: The Special and General Theory", Author: "Albert Einstein", Genres: []string{"Science & Nature"}, Language: "en", Licenses: 14},
		{AdamID: "1590000019", Title: "The Prince", Author: "Niccolò Machiavelli", Genres: []string{"Politics & Current Events"}, Language: "it", Licenses: 9},
		{AdamID: "1590000020", Title: "Walden", Author: "Henry David Thoreau", Genres: []string{"Nonfiction"}, Language: "en", Licenses: 16},
		{AdamID: "1590000021", Title: "Kinder- und Hausmärchen", Author: "Jacob and Wilhelm Grimm", Genres: []string{"Kids"}, Language: "de", Licenses: 60},
		{AdamID: "1590000022", Title: "The Odyssey", Author: "Homer", Genres: []string{"Fiction & Literature"}, Language: "en", Licenses: 5},
		{AdamID: "1590000023", Title: "Siddhartha", Author: "Hermann Hesse", Genres: []string{"Fiction & Literature", "Religion & Spirituality"}, Language: "de", Licenses: 4},
		{AdamID: "1590000024", Title: "The Federalist Papers", Author: "Alexander Hamilton, James Madison and John Jay", Genres: []string{"History", "Politics & Current Events"}, Language: "en", Licenses: 7},
	}
}
